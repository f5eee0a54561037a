package io.sluice.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Frames and parses the untyped start-up packets (StartupMessage, SSLRequest, GSSENCRequest,
 * CancelRequest) into {@link StartupRequest}s.
 *
 * <p>It removes itself after a StartupMessage or CancelRequest; bytes that followed in the same
 * read are handed on to the next handler by {@link ByteToMessageDecoder}. A length outside
 * 8..{@value #MAX_STARTUP_PACKET} is rejected from the 4-byte header alone, before anything of
 * the claimed size is buffered.
 */
public final class StartupDecoder extends ByteToMessageDecoder {
    /** PgBouncer's and PostgreSQL's cap on a start-up packet. */
    public static final int MAX_STARTUP_PACKET = 10_000;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 4) {
            return;
        }
        int start = in.readerIndex();
        int length = in.getInt(start);
        if (length < 8 || length > MAX_STARTUP_PACKET) {
            // The connection is closed on this error; drop what it sent so nothing is decoded again.
            in.skipBytes(in.readableBytes());
            throw new ProtocolException("invalid startup packet length " + length);
        }
        if (in.readableBytes() < length) {
            return;
        }
        int code = in.getInt(start + 4);
        StartupRequest request;
        try {
            request = parse(in, start + 8, length - 8, code);
        } finally {
            in.skipBytes(length);
        }
        if (request instanceof StartupRequest.SslRequest && in.isReadable()) {
            request = new StartupRequest.SslRequest(true);
        }
        out.add(request);
        if (request instanceof StartupRequest.Startup || request instanceof StartupRequest.CancelRequest) {
            ctx.pipeline().remove(this);
        }
    }

    private static StartupRequest parse(ByteBuf in, int bodyStart, int bodyLength, int code) {
        switch (code) {
            case FrontendCodes.SSL_REQUEST_CODE:
                requireEmpty(bodyLength, "SSLRequest");
                return new StartupRequest.SslRequest(false);
            case FrontendCodes.GSSENC_REQUEST_CODE:
                requireEmpty(bodyLength, "GSSENCRequest");
                return new StartupRequest.GssEncRequest();
            case FrontendCodes.CANCEL_REQUEST_CODE:
                if (bodyLength != 8) {
                    throw new ProtocolException("invalid CancelRequest length " + (bodyLength + 8));
                }
                return new StartupRequest.CancelRequest(in.getInt(bodyStart), in.getInt(bodyStart + 4));
            default:
                int major = code >>> 16;
                int minor = code & 0xffff;
                if (major != 3) {
                    throw new ProtocolException("unsupported frontend protocol " + major + "." + minor);
                }
                return new StartupRequest.Startup(major, minor, parameters(in, bodyStart, bodyLength));
        }
    }

    private static void requireEmpty(int bodyLength, String what) {
        if (bodyLength != 0) {
            throw new ProtocolException("invalid " + what + " length " + (bodyLength + 8));
        }
    }

    /** Name/value C strings, ended by an empty name. */
    private static Map<String, String> parameters(ByteBuf in, int pos, int length) {
        Map<String, String> params = new LinkedHashMap<>();
        int end = pos + length;
        while (true) {
            int nameEnd = in.indexOf(pos, end, (byte) 0);
            if (nameEnd < 0) {
                throw new ProtocolException("invalid startup packet layout: expected terminator as last byte");
            }
            if (nameEnd == pos) {
                if (nameEnd != end - 1) {
                    throw new ProtocolException("invalid startup packet layout: expected terminator as last byte");
                }
                return params;
            }
            int valueEnd = in.indexOf(nameEnd + 1, end, (byte) 0);
            if (valueEnd < 0) {
                throw new ProtocolException("invalid startup packet layout: expected terminator as last byte");
            }
            String name = in.toString(pos, nameEnd - pos, StandardCharsets.UTF_8);
            String value = in.toString(nameEnd + 1, valueEnd - nameEnd - 1, StandardCharsets.UTF_8);
            params.put(name, value);
            pos = valueEnd + 1;
        }
    }
}
