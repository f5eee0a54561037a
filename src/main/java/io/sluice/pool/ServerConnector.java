package io.sluice.pool;

import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import java.util.function.Consumer;

/**
 * Opens a connection to PostgreSQL on a given loop. The server layer supplies it, since it
 * owns the choice of transport (epoll or NIO) and socket options.
 */
public interface ServerConnector {
    /** How a CancelRequest ended. */
    enum CancelOutcome {
        /** PostgreSQL read it and closed the connection: it has signalled the backend, if at all. */
        DONE,
        /** It never reached PostgreSQL (the connect failed): no signal will come. */
        NOT_SENT,
        /** Sent, and not closed by PostgreSQL within cancel_wait_timeout: a signal may still come. */
        TIMED_OUT
    }

    /** Connects {@code handler}'s channel to the pool's host (TCP, or a Unix socket for a /path host). */
    ChannelFuture connect(EventLoop loop, PoolConfig config, ServerConnection handler);

    /**
     * Sends a CancelRequest for {@code server} over a new connection, on the server's loop, and
     * tells {@code done} there how it ended (once).
     */
    void cancel(ServerConnection server, Consumer<CancelOutcome> done);
}
