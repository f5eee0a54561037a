package io.sluice.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.sluice.pool.PoolConfig;
import io.sluice.pool.ServerConnection;
import io.sluice.pool.ServerConnector;
import io.sluice.pool.ServerTlsStart;
import io.sluice.tls.ServerTls;
import io.sluice.pool.ServerConnector.CancelOutcome;
import io.sluice.protocol.PgWriter;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** Opens server connections (and cancel connections) with the chosen transport. */
final class NettyServerConnector implements ServerConnector {
    private final Transport transport;
    private final ChannelGroup connections;
    /** cancel_wait_timeout: how long a CancelRequest may take; 0 waits for PostgreSQL's close. */
    private final Duration cancelWaitTimeout;

    NettyServerConnector(Transport transport, ChannelGroup connections, Duration cancelWaitTimeout) {
        this.transport = transport;
        this.connections = connections;
        this.cancelWaitTimeout = cancelWaitTimeout;
    }

    @Override
    public ChannelFuture connect(EventLoop loop, PoolConfig config, ServerConnection handler) {
        ChannelFuture f = bootstrap(loop, config).handler(withTls(config, handler)).connect(address(config));
        connections.add(f.channel());
        return f;
    }

    @Override
    public void cancel(ServerConnection server, Consumer<CancelOutcome> done) {
        PoolConfig config = server.shard().pool().config();
        CancelSender sender = new CancelSender(server.processId(), server.secretKey(), done);
        // Over TLS where the servers must use it (the cancel key is a secret). Under allow and
        // prefer it goes as it always did, in plaintext without the SSLRequest's round trip: a
        // query must be cancellable when the server's answers are not coming back (a network
        // frozen one way, the case query_timeout's cancel exists for).
        ChannelHandler handler = config.serverTls() != null && config.serverTls().required()
                ? withTls(config, sender) : sender;
        ChannelFuture connect = bootstrap(server.channel().eventLoop(), config)
                .handler(handler)
                .connect(address(config));
        connect.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                sender.finish(CancelOutcome.NOT_SENT);
            }
        });
        if (!cancelWaitTimeout.isZero()) {
            // From the start, the connect included: a connect that hangs (server_connect_timeout
            // = 0, a host gone) would otherwise hold the cancelled server and the requester.
            sender.timer = server.channel().eventLoop().schedule(() -> {
                sender.finish(sender.active ? CancelOutcome.TIMED_OUT : CancelOutcome.NOT_SENT);
                connect.channel().close();
            }, cancelWaitTimeout.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * One CancelRequest: written once connected; over when PostgreSQL closes the connection,
     * which it does after it has signalled the backend (or found no such backend). Until then
     * the backend may still get the signal, so the server it cancels must not serve anyone else
     * (PoolShard holds it); after cancel_wait_timeout Sluice gives up on knowing.
     */
    private static final class CancelSender extends ChannelInboundHandlerAdapter {
        private final int pid;
        private final int key;
        private final Consumer<CancelOutcome> done;
        private boolean finished;
        /** Connected, so the CancelRequest may have reached PostgreSQL. */
        boolean active;
        /** cancel_wait_timeout; null when 0 (no limit). */
        ScheduledFuture<?> timer;

        CancelSender(int pid, int key, Consumer<CancelOutcome> done) {
            this.pid = pid;
            this.key = key;
            this.done = done;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            active = true;
            ByteBuf out = ctx.alloc().buffer(16);
            PgWriter.cancelRequest(out, pid, key);
            ctx.writeAndFlush(out, ctx.voidPromise());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            // PostgreSQL answers a CancelRequest with nothing but the close.
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            // Closed before it was written (a TLS start that failed): it was not sent.
            finish(active ? CancelOutcome.DONE : CancelOutcome.NOT_SENT);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        void finish(CancelOutcome outcome) {
            if (!finished) {
                finished = true;
                if (timer != null) {
                    timer.cancel(false);
                }
                done.accept(outcome);
            }
        }
    }

    /** {@code handler}, behind a {@link ServerTlsStart} where server TLS applies (TCP only, as in PgBouncer). */
    private static ChannelHandler withTls(PoolConfig config, ChannelHandler handler) {
        ServerTls tls = config.serverTls();
        if (tls == null || !tls.requested() || config.host().startsWith("/")) {
            return handler;
        }
        return new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new ServerTlsStart(tls, config.host(), config.port()), handler);
            }
        };
    }

    private Bootstrap bootstrap(EventLoop loop, PoolConfig config) {
        boolean unix = config.host().startsWith("/");
        Bootstrap b = new Bootstrap().group(loop)
                .channel(unix ? transport.domainChannel() : transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis(config.serverConnectTimeout()));
        if (!unix) {
            b.option(ChannelOption.TCP_NODELAY, true);
            transport.tcpOptions(config.tcp()).forEach((k, v) -> setOption(b, k, v));
        }
        transport.serverOptions(b);
        return b;
    }

    @SuppressWarnings("unchecked")
    private static void setOption(Bootstrap b, ChannelOption<?> option, Object value) {
        b.option((ChannelOption<Object>) option, value);
    }

    /** server_connect_timeout for the TCP connect: 0 is no timeout, as in PgBouncer (and in Netty). */
    static int connectTimeoutMillis(Duration t) {
        return t.isZero() ? 0 : (int) Math.min(Integer.MAX_VALUE, Math.max(1, t.toMillis()));
    }

    private SocketAddress address(PoolConfig config) {
        if (config.host().startsWith("/")) {
            return transport.unixAddress(config.host() + "/.s.PGSQL." + config.port());
        }
        return InetSocketAddress.createUnresolved(config.host(), config.port());
    }
}
