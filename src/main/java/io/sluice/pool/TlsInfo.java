package io.sluice.pool;

import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import javax.net.ssl.SSLSession;

/** What a connection's TLS is, as SHOW CLIENTS, SHOW SERVERS and the login log lines say it. */
public final class TlsInfo {
    private TlsInfo() {
    }

    /** {@code TLSv1.3/TLS_AES_256_GCM_SHA384}, or "" for a plaintext connection. */
    public static String of(Channel ch) {
        SslHandler h = ch == null ? null : ch.pipeline().get(SslHandler.class);
        if (h == null) {
            return "";
        }
        SSLSession session = h.engine().getSession();
        return session.getProtocol() + "/" + session.getCipherSuite();
    }
}
