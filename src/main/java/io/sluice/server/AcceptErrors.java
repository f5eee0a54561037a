package io.sluice.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listener's failed accepts (out of file descriptors, most often): it stops accepting for
 * {@link #PAUSE_MILLIS} and says so in one line with the number of failures, instead of trying
 * again at once and logging every failure (4.6 million lines in 40 s, once). Connections already
 * in go on being served; the kernel's backlog holds new ones meanwhile. Sits before Netty's own
 * acceptor in the listener's pipeline, and keeps the failure from it.
 */
final class AcceptErrors extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(AcceptErrors.class);
    static final long PAUSE_MILLIS = 1000;

    private long failures;
    private boolean paused;

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failures++;
        if (paused) {
            return;
        }
        paused = true;
        Channel listener = ctx.channel();
        log.warn("{}: accepting a connection failed ({}), {} time(s) since the last such line; no new"
                + " connections for {} ms", listener.localAddress(), cause.getMessage(), failures, PAUSE_MILLIS);
        failures = 0;
        listener.config().setAutoRead(false);
        ctx.executor().schedule(() -> {
            paused = false;
            listener.config().setAutoRead(true);
        }, PAUSE_MILLIS, TimeUnit.MILLISECONDS);
    }
}
