package io.sluice.pool;

import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;

/**
 * Opens a connection to PostgreSQL on a given loop. The server layer supplies it, since it
 * owns the choice of transport (epoll or NIO) and socket options.
 */
public interface ServerConnector {
    /** Connects {@code handler}'s channel to the pool's host (TCP, or a Unix socket for a /path host). */
    ChannelFuture connect(EventLoop loop, PoolConfig config, ServerConnection handler);

    /** Sends a CancelRequest for {@code server} over a new connection, on the server's loop. */
    void cancel(ServerConnection server);
}
