package io.sluice.server;

import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.EventExecutorChooserFactory;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.concurrent.Executor;

/**
 * The socket transport, chosen once at start: native epoll where it loads (Linux), else NIO.
 * {@code -Dsluice.transport=nio} forces NIO.
 */
record Transport(
        String name,
        IoHandlerFactory ioHandler,
        Class<? extends ServerChannel> serverChannel,
        Class<? extends Channel> socketChannel,
        Class<? extends ServerChannel> serverDomainChannel,
        Class<? extends Channel> domainChannel,
        boolean nativeDomainAddress) {

    static Transport choose() {
        boolean wantNio = "nio".equalsIgnoreCase(System.getProperty("sluice.transport"));
        if (!wantNio && Epoll.isAvailable()) {
            return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class,
                    EpollSocketChannel.class, EpollServerDomainSocketChannel.class, EpollDomainSocketChannel.class,
                    true);
        }
        return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class,
                NioServerDomainSocketChannel.class, NioDomainSocketChannel.class, false);
    }

    /** Why native epoll is not used, for the start-up log; null if it is. */
    static String epollUnavailableReason() {
        Throwable t = Epoll.unavailabilityCause();
        return t == null ? null : t.toString();
    }

    EventLoopGroup newGroup(int threads, EventExecutorChooserFactory chooser) {
        return new MultiThreadIoEventLoopGroup(threads, (Executor) null, chooser, ioHandler);
    }

    /** A Unix socket address in the form this transport's channels take. */
    SocketAddress unixAddress(String path) {
        return nativeDomainAddress ? new DomainSocketAddress(path) : UnixDomainSocketAddress.of(path);
    }
}
