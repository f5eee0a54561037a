package io.sluice.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Encodes the messages Sluice itself sends, to clients (errors, authentication, welcome) and
 * to servers (start-up, passwords, queries). Each method appends one message to {@code out},
 * so several can share one buffer and one flush.
 */
public final class PgWriter {
    private PgWriter() {
    }

    /** ErrorResponse or NoticeResponse with severity, SQLSTATE and message. */
    public static void error(ByteBuf out, String severity, String sqlState, String message) {
        notice(out, BackendCodes.ERROR_RESPONSE, severity, sqlState, message);
    }

    public static void notice(ByteBuf out, byte type, String severity, String sqlState, String message) {
        int start = begin(out, type);
        out.writeByte('S');
        cstring(out, severity);
        out.writeByte('V');
        cstring(out, severity);
        out.writeByte('C');
        cstring(out, sqlState);
        out.writeByte('M');
        cstring(out, message);
        out.writeByte(0);
        end(out, start);
    }

    public static void authRequest(ByteBuf out, int code) {
        int start = begin(out, BackendCodes.AUTHENTICATION);
        out.writeInt(code);
        end(out, start);
    }

    public static void authMd5(ByteBuf out, byte[] salt) {
        int start = begin(out, BackendCodes.AUTHENTICATION);
        out.writeInt(BackendCodes.AUTH_MD5);
        out.writeBytes(salt);
        end(out, start);
    }

    /** AuthenticationSASL listing one mechanism. */
    public static void authSasl(ByteBuf out, String mechanism) {
        int start = begin(out, BackendCodes.AUTHENTICATION);
        out.writeInt(BackendCodes.AUTH_SASL);
        cstring(out, mechanism);
        out.writeByte(0);
        end(out, start);
    }

    /** AuthenticationSASLContinue or AuthenticationSASLFinal with its SCRAM payload. */
    public static void authSaslData(ByteBuf out, int code, String data) {
        int start = begin(out, BackendCodes.AUTHENTICATION);
        out.writeInt(code);
        out.writeCharSequence(data, StandardCharsets.UTF_8);
        end(out, start);
    }

    public static void parameterStatus(ByteBuf out, String name, String value) {
        int start = begin(out, BackendCodes.PARAMETER_STATUS);
        cstring(out, name);
        cstring(out, value);
        end(out, start);
    }

    public static void backendKeyData(ByteBuf out, int processId, int secretKey) {
        out.writeByte(BackendCodes.BACKEND_KEY_DATA).writeInt(12).writeInt(processId).writeInt(secretKey);
    }

    public static void readyForQuery(ByteBuf out, byte status) {
        out.writeByte(BackendCodes.READY_FOR_QUERY).writeInt(5).writeByte(status);
    }

    /** NegotiateProtocolVersion: the newest minor version we speak and the options we ignored. */
    public static void negotiateProtocolVersion(ByteBuf out, int minor, Iterable<String> unsupported) {
        int start = begin(out, BackendCodes.NEGOTIATE_PROTOCOL_VERSION);
        out.writeInt(minor);
        int countAt = out.writerIndex();
        out.writeInt(0);
        int n = 0;
        for (String option : unsupported) {
            cstring(out, option);
            n++;
        }
        out.setInt(countAt, n);
        end(out, start);
    }

    /** StartupMessage for protocol 3.0. */
    public static void startup(ByteBuf out, Map<String, String> parameters) {
        int start = out.writerIndex();
        out.writeInt(0);
        out.writeInt(FrontendCodes.PROTOCOL_3_0);
        for (Map.Entry<String, String> e : parameters.entrySet()) {
            cstring(out, e.getKey());
            cstring(out, e.getValue());
        }
        out.writeByte(0);
        out.setInt(start, out.writerIndex() - start);
    }

    public static void cancelRequest(ByteBuf out, int processId, int secretKey) {
        out.writeInt(16).writeInt(FrontendCodes.CANCEL_REQUEST_CODE).writeInt(processId).writeInt(secretKey);
    }

    /** PasswordMessage (cleartext or md5 response). */
    public static void password(ByteBuf out, String password) {
        int start = begin(out, FrontendCodes.PASSWORD);
        cstring(out, password);
        end(out, start);
    }

    public static void saslInitialResponse(ByteBuf out, String mechanism, String data) {
        int start = begin(out, FrontendCodes.PASSWORD);
        cstring(out, mechanism);
        byte[] bytes = data.getBytes(StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.writeBytes(bytes);
        end(out, start);
    }

    public static void saslResponse(ByteBuf out, String data) {
        int start = begin(out, FrontendCodes.PASSWORD);
        out.writeCharSequence(data, StandardCharsets.UTF_8);
        end(out, start);
    }

    public static void query(ByteBuf out, String sql) {
        int start = begin(out, FrontendCodes.QUERY);
        cstring(out, sql);
        end(out, start);
    }

    /**
     * One statement with one text parameter over the extended protocol: Parse, Bind, Execute and
     * Sync, unnamed. The parameter travels as data, never inside the SQL text.
     */
    public static void extendedQuery(ByteBuf out, String sql, String parameter) {
        int start = begin(out, FrontendCodes.PARSE);
        cstring(out, "");
        cstring(out, sql);
        out.writeShort(0);
        end(out, start);
        start = begin(out, FrontendCodes.BIND);
        cstring(out, "");
        cstring(out, "");
        out.writeShort(0);
        out.writeShort(1);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        int written = ByteBufUtil.writeUtf8(out, parameter);
        out.setInt(lengthAt, written);
        out.writeShort(0);
        end(out, start);
        start = begin(out, FrontendCodes.EXECUTE);
        cstring(out, "");
        out.writeInt(0);
        end(out, start);
        out.writeByte(FrontendCodes.SYNC).writeInt(4);
    }

    public static void terminate(ByteBuf out) {
        out.writeByte(FrontendCodes.TERMINATE).writeInt(4);
    }

    private static int begin(ByteBuf out, byte type) {
        out.writeByte(type);
        int start = out.writerIndex();
        out.writeInt(0);
        return start;
    }

    private static void end(ByteBuf out, int start) {
        out.setInt(start, out.writerIndex() - start);
    }

    private static void cstring(ByteBuf out, String s) {
        ByteBufUtil.writeUtf8(out, s);
        out.writeByte(0);
    }
}
