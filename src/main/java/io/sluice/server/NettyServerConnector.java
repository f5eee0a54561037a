package io.sluice.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.sluice.pool.PoolConfig;
import io.sluice.pool.ServerConnection;
import io.sluice.pool.ServerConnector;
import io.sluice.protocol.PgWriter;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;

/** Opens server connections (and cancel connections) with the chosen transport. */
final class NettyServerConnector implements ServerConnector {
    private final Transport transport;
    private final ChannelGroup connections;

    NettyServerConnector(Transport transport, ChannelGroup connections) {
        this.transport = transport;
        this.connections = connections;
    }

    @Override
    public ChannelFuture connect(EventLoop loop, PoolConfig config, ServerConnection handler) {
        ChannelFuture f = bootstrap(loop, config).handler(handler).connect(address(config));
        connections.add(f.channel());
        return f;
    }

    @Override
    public void cancel(ServerConnection server) {
        PoolConfig config = server.shard().pool().config();
        int pid = server.processId();
        int key = server.secretKey();
        bootstrap(server.channel().eventLoop(), config)
                .handler(new ChannelInboundHandlerAdapter())
                .connect(address(config))
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        return;
                    }
                    Channel ch = f.channel();
                    ByteBuf out = ch.alloc().buffer(16);
                    PgWriter.cancelRequest(out, pid, key);
                    // PostgreSQL closes a cancel connection itself; close our side once written.
                    ch.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
                });
    }

    private Bootstrap bootstrap(EventLoop loop, PoolConfig config) {
        boolean unix = config.host().startsWith("/");
        Bootstrap b = new Bootstrap().group(loop)
                .channel(unix ? transport.domainChannel() : transport.socketChannel())
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMillis(config.serverConnectTimeout()));
        if (!unix) {
            b.option(ChannelOption.TCP_NODELAY, true).option(ChannelOption.SO_KEEPALIVE, true);
        }
        transport.serverOptions(b);
        return b;
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
