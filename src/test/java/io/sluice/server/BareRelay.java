package io.sluice.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultEventExecutorChooserFactory;

/**
 * The floor under Sluice's relay, for the benchmark's analysis (docs/benchmarks.md): a one-to-one
 * TCP proxy on the same Netty transport, configuration and event loop as Sluice, that forwards
 * each read as it came, with no protocol scanning, no pooling and no authentication. What it
 * costs per query is what Netty's channel layer costs; Sluice's own work is the difference.
 *
 * <p>Usage: {@code BareRelay listenPort targetHost targetPort [threads]}. Each accepted client
 * gets its own connection to the target, on the client's event loop.
 */
public final class BareRelay {
    private BareRelay() {}

    public static void main(String[] args) throws InterruptedException {
        int port = Integer.parseInt(args[0]);
        String host = args[1];
        int targetPort = Integer.parseInt(args[2]);
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        Transport t = Transport.choose("auto");
        EventLoopGroup group = t.newGroup(threads, DefaultEventExecutorChooserFactory.INSTANCE);
        ServerBootstrap sb = new ServerBootstrap().group(group).channel(t.serverChannel())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel client) {
                        Bootstrap b = new Bootstrap().group(client.eventLoop()).channel(t.socketChannel())
                                .option(ChannelOption.TCP_NODELAY, true)
                                .handler(new Forward(client));
                        t.serverOptions(b);
                        b.connect(host, targetPort).addListener((ChannelFutureListener) f -> {
                            if (!f.isSuccess()) {
                                client.close();
                                return;
                            }
                            client.pipeline().addLast(new Forward(f.channel()));
                            client.config().setAutoRead(true);
                        });
                    }
                });
        t.clientOptions(sb);
        Channel listener = sb.bind("127.0.0.1", port).sync().channel();
        System.out.println("BareRelay on " + t.name() + ", " + threads + " loop(s), port " + port);
        listener.closeFuture().sync();
    }

    /** Writes what one side reads to the other, flushed once per read batch. */
    private static final class Forward extends ChannelInboundHandlerAdapter {
        private final Channel peer;

        Forward(Channel peer) {
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            peer.write(msg, peer.voidPromise());
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            peer.flush();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            peer.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
