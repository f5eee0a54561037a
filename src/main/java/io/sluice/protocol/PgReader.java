package io.sluice.protocol;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/** Reads fields out of message bodies that Sluice has to decode (errors, parameters, auth). */
public final class PgReader {
    private PgReader() {
    }

    /** Reads a NUL-terminated string at the reader index and moves past it. */
    public static String cstring(ByteBuf body) {
        int end = body.indexOf(body.readerIndex(), body.writerIndex(), (byte) 0);
        if (end < 0) {
            throw new ProtocolException("missing string terminator");
        }
        String s = body.toString(body.readerIndex(), end - body.readerIndex(), StandardCharsets.UTF_8);
        body.readerIndex(end + 1);
        return s;
    }

    /** A DataRow's columns as text, null for NULL; lengths are checked against the body. */
    public static String[] dataRow(ByteBuf body) {
        if (body.readableBytes() < 2) {
            throw new ProtocolException("malformed DataRow");
        }
        int columns = body.readUnsignedShort();
        String[] out = new String[columns];
        for (int i = 0; i < columns; i++) {
            if (body.readableBytes() < 4) {
                throw new ProtocolException("malformed DataRow");
            }
            int length = body.readInt();
            if (length == -1) {
                continue;
            }
            if (length < 0 || length > body.readableBytes()) {
                throw new ProtocolException("malformed DataRow");
            }
            out[i] = body.readCharSequence(length, StandardCharsets.UTF_8).toString();
        }
        return out;
    }

    /**
     * The fields of an ErrorResponse or NoticeResponse body. Every field is optional on the wire
     * (a broken server, or anything else answering on its port, may send none): severity and
     * message are never null here, since clients are told them; sqlState may be, and is when the
     * server's is not five digits or capital letters (what clients are told is then Sluice's
     * own code: they parse the class from it, and a server's "4201" once reached them as is).
     */
    public record ErrorFields(String severity, String sqlState, String message, String detail, String hint) {
        public ErrorFields {
            if (severity == null || severity.isEmpty()) {
                severity = "ERROR";
            }
            if (message == null || message.isBlank()) {
                message = "server sent an error without a message";
            }
            if (sqlState != null && !SqlState.wellFormed(sqlState)) {
                sqlState = null;
            }
        }

        /** PostgreSQL's "cannot connect now" (starting up, in recovery): a login to retry, not to report. */
        public boolean cannotConnectNow() {
            return SqlState.CANNOT_CONNECT_NOW.equals(sqlState);
        }

        @Override
        public String toString() {
            return severity + (sqlState == null ? "" : " " + sqlState) + " " + message;
        }
    }

    public static ErrorFields errorFields(ByteBuf body) {
        ByteBuf b = body.duplicate();
        String severity = null;
        String code = null;
        String message = null;
        String detail = null;
        String hint = null;
        String localized = null;
        while (b.isReadable()) {
            byte field = b.readByte();
            if (field == 0) {
                break;
            }
            String value = cstring(b);
            switch (field) {
                case 'V':
                    severity = value;
                    break;
                case 'S':
                    localized = value;
                    break;
                case 'C':
                    code = value;
                    break;
                case 'M':
                    message = value;
                    break;
                case 'D':
                    detail = value;
                    break;
                case 'H':
                    hint = value;
                    break;
                default:
                    break;
            }
        }
        return new ErrorFields(severity != null ? severity : localized, code, message, detail, hint);
    }
}
