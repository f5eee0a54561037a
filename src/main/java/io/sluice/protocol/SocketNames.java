package io.sluice.protocol;

import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** A socket's address as PgBouncer's logs write it: {@code 127.0.0.1:5544}, {@code [::1]:5544}, {@code unix}. */
public final class SocketNames {
    private SocketNames() {
    }

    public static String hostPort(SocketAddress a) {
        if (a instanceof InetSocketAddress i) {
            String host = i.getAddress() == null ? i.getHostString() : i.getAddress().getHostAddress();
            return (i.getAddress() instanceof Inet6Address ? "[" + host + "]" : host) + ":" + i.getPort();
        }
        return a == null ? "?" : "unix";
    }
}
