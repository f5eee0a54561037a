package io.sluice.pool;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.FrontendCodes;
import io.sluice.tls.ServerTls;

/**
 * Asks a PostgreSQL server for TLS before anything else is said on the connection: sends
 * SSLRequest, reads the one-byte answer, runs the handshake, then steps aside and lets the
 * handler behind it (a login or a cancel) start as on a plaintext connection.
 *
 * <p>Nothing the server sends before the handshake is passed on: an ErrorResponse instead of
 * 'S' or 'N' is not relayed (a man in the middle could write anything there), and bytes after
 * the 'S' in the same read fail the connection, as in libpq (CVE-2021-23222). A failure reaches
 * the handler behind it as a {@link ServerTlsException} whose message clients may be told.
 */
public final class ServerTlsStart extends ChannelInboundHandlerAdapter {
    private final ServerTls tls;
    private final String host;
    private final int port;
    private boolean answered;
    private boolean failed;

    public ServerTlsStart(ServerTls tls, String host, int port) {
        this.tls = tls;
        this.host = host;
        this.port = port;
    }

    /** Why a server connection could not be encrypted as configured. */
    public static final class ServerTlsException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ServerTlsException(String message) {
            super(message, null, false, false);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // Held back from the handler behind: it starts once TLS is settled.
        ByteBuf out = ctx.alloc().buffer(8);
        out.writeInt(8).writeInt(FrontendCodes.SSL_REQUEST_CODE);
        ctx.writeAndFlush(out, ctx.voidPromise());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (failed || !in.isReadable()) {
                return;
            }
            if (answered) {
                // Decrypted bytes before the handshake is over: a server says nothing until the
                // StartupMessage, which is not sent yet.
                fail(ctx, "server sent data before the StartupMessage");
                return;
            }
            answered = true;
            byte answer = in.readByte();
            if (answer == 'S') {
                if (in.isReadable()) {
                    fail(ctx, "received unencrypted data after SSL response");
                    return;
                }
                SslHandler h = tls.newHandler(ctx.alloc(), host, port);
                ctx.pipeline().addBefore(ctx.name(), "tls", h);
            } else if (answer == 'N') {
                if (tls.required()) {
                    fail(ctx, "server refused SSL");
                } else if (in.isReadable()) {
                    fail(ctx, "received unencrypted data after SSL response");
                } else {
                    start(ctx);
                }
            } else {
                // 'E' from a server too old for SSLRequest, or anything else: not relayed.
                fail(ctx, "bad sslreq answer");
            }
        } finally {
            ReferenceCountUtil.release(in);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent done) {
            if (done.isSuccess()) {
                start(ctx);
            } else if (!failed) {
                fail(ctx, "TLS startup failed: " + rootMessage(done.cause()));
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // The handshake's own failure comes as the completion event too; one report is enough.
        if (!failed && !(cause instanceof javax.net.ssl.SSLException)
                && !(cause instanceof io.netty.handler.codec.DecoderException)) {
            ctx.fireExceptionCaught(cause);
        }
    }

    private void start(ChannelHandlerContext ctx) {
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }

    private void fail(ChannelHandlerContext ctx, String why) {
        failed = true;
        ctx.fireExceptionCaught(new ServerTlsException(why));
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return String.valueOf(t.getMessage());
    }
}
