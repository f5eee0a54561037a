package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.sluice.tls.ClientTls;
import java.util.List;

/**
 * PostgreSQL 17's direct TLS: a client that starts its TLS handshake at once, without an
 * SSLRequest. The first byte tells: 0x16 opens a TLS handshake record, and can't open a
 * start-up packet (its length would be hundreds of megabytes). This handler looks at that byte
 * only, puts the TLS handler in its place or steps aside, and hands on what it read.
 * {@link ClientLogin} then insists on ALPN "postgresql", as PostgreSQL does.
 */
public final class DirectTls extends ByteToMessageDecoder {
    /** The first byte of a TLS handshake record (content type 22). */
    private static final byte TLS_HANDSHAKE = 0x16;

    private final ClientTls tls;

    /** For a TCP client accepted while {@code tls} accepts TLS. */
    public DirectTls(ClientTls tls) {
        this.tls = tls;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        // What was read so far is handed to the handler that takes this one's place (or to the
        // next one) by ByteToMessageDecoder's handlerRemoved.
        if (in.getByte(in.readerIndex()) == TLS_HANDSHAKE) {
            ctx.pipeline().replace(this, ClientLogin.TLS_HANDLER, tls.newHandler(ctx.alloc()));
        } else {
            ctx.pipeline().remove(this);
        }
    }
}
