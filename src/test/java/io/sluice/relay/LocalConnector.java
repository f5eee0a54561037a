package io.sluice.relay;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.util.ReferenceCountUtil;
import io.sluice.pool.PoolConfig;
import io.sluice.pool.ServerConnection;
import io.sluice.pool.ServerConnector;
import io.sluice.protocol.PgWriter;
import java.util.function.Consumer;

/**
 * Opens Sluice's server connections over {@link LocalChannel} to a {@link FakePostgres},
 * whatever host and port the pool names, on the loop the pool asks for: the client's own, as
 * Sluice requires. CancelRequests go the same way, each on a connection of its own.
 */
final class LocalConnector implements ServerConnector {
    private final LocalAddress address;

    LocalConnector(LocalAddress address) {
        this.address = address;
    }

    @Override
    public ChannelFuture connect(EventLoop loop, PoolConfig config, ServerConnection handler) {
        return new Bootstrap().group(loop).channel(LocalChannel.class).handler(handler).connect(address);
    }

    @Override
    public void cancel(ServerConnection server, Consumer<CancelOutcome> done) {
        CancelSender sender = new CancelSender(server.processId(), server.secretKey(), done);
        new Bootstrap().group(server.channel().eventLoop()).channel(LocalChannel.class).handler(sender)
                .connect(address)
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        sender.finish(CancelOutcome.NOT_SENT);
                    }
                });
    }

    /** Writes one CancelRequest; done when the fake closes, as PostgreSQL does once it has signalled. */
    private static final class CancelSender extends ChannelInboundHandlerAdapter {
        private final int pid;
        private final int key;
        private final Consumer<CancelOutcome> done;
        private boolean finished;

        CancelSender(int pid, int key, Consumer<CancelOutcome> done) {
            this.pid = pid;
            this.key = key;
            this.done = done;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ByteBuf out = ctx.alloc().buffer(16);
            PgWriter.cancelRequest(out, pid, key);
            ctx.writeAndFlush(out, ctx.voidPromise());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(CancelOutcome.DONE);
        }

        void finish(CancelOutcome outcome) {
            if (!finished) {
                finished = true;
                done.accept(outcome);
            }
        }
    }
}
