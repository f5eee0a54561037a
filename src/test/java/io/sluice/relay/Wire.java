package io.sluice.relay;

import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * PostgreSQL wire messages for the fake client and the fake server: frontend messages built
 * as bytes, backend messages built as bytes, and backend messages read back as the short
 * strings the tests assert on ("T", "D:1", "C:SELECT 1", "Z:I", "E:08P01:message").
 *
 * <p>Frontend and backend codes are separate namespaces (D is Describe one way and DataRow
 * the other), so each side has its own builders here.
 */
final class Wire {
    private Wire() {
    }

    // ---- frontend messages (client to server) ----

    /** StartupMessage 3.0 with user, database, then {@code more} as name, value pairs. */
    static byte[] startup(String user, String database, String... more) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(int32(196608));
        body.writeBytes(cstr("user"));
        body.writeBytes(cstr(user));
        body.writeBytes(cstr("database"));
        body.writeBytes(cstr(database));
        for (int i = 0; i + 1 < more.length; i += 2) {
            body.writeBytes(cstr(more[i]));
            body.writeBytes(cstr(more[i + 1]));
        }
        body.write(0);
        return untyped(body.toByteArray());
    }

    static byte[] cancelRequest(int pid, int key) {
        return untyped(concat(int32(80877102), int32(pid), int32(key)));
    }

    static byte[] query(String sql) {
        return msg('Q', cstr(sql));
    }

    static byte[] parse(String name, String sql) {
        return msg('P', cstr(name), cstr(sql), int16(0));
    }

    static byte[] bind(String portal, String statement) {
        // No parameter formats, no parameters, no result formats.
        return msg('B', cstr(portal), cstr(statement), int16(0), int16(0), int16(0));
    }

    static byte[] describePortal(String portal) {
        return msg('D', bytes("P"), cstr(portal));
    }

    static byte[] execute(String portal) {
        return msg('E', cstr(portal), int32(0));
    }

    static byte[] closeStatement(String name) {
        return msg('C', bytes("S"), cstr(name));
    }

    static byte[] sync() {
        return msg('S');
    }

    static byte[] flush() {
        return msg('H');
    }

    static byte[] copyData(String data) {
        return msg('d', bytes(data));
    }

    static byte[] copyDone() {
        return msg('c');
    }

    static byte[] copyFail(String why) {
        return msg('f', cstr(why));
    }

    static byte[] terminate() {
        return msg('X');
    }

    /** Parse, Bind, Execute and Sync of the unnamed statement: one query, extended protocol. */
    static byte[] extendedQuery(String sql) {
        return concat(parse("", sql), bind("", ""), execute(""), sync());
    }

    // ---- backend messages (server to client) ----

    static byte[] authOk() {
        return msg('R', int32(0));
    }

    static byte[] parameterStatus(String name, String value) {
        return msg('S', cstr(name), cstr(value));
    }

    static byte[] backendKeyData(int pid, int key) {
        return msg('K', int32(pid), int32(key));
    }

    static byte[] readyForQuery(char status) {
        return msg('Z', new byte[] {(byte) status});
    }

    static byte[] rowDescription(String column) {
        // One text column, no table: name, table oid, attnum, type oid (text), size, typmod, format.
        return msg('T', int16(1), cstr(column), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0));
    }

    static byte[] dataRow(String value) {
        byte[] v = bytes(value);
        return msg('D', int16(1), int32(v.length), v);
    }

    static byte[] commandComplete(String tag) {
        return msg('C', cstr(tag));
    }

    static byte[] error(String severity, String sqlState, String message) {
        return msg('E', bytes("S"), cstr(severity), bytes("V"), cstr(severity), bytes("C"), cstr(sqlState),
                bytes("M"), cstr(message), new byte[] {0});
    }

    static byte[] copyInResponse() {
        return msg('G', new byte[] {0}, int16(1), int16(0));
    }

    // ---- reading backend messages back ----

    /**
     * One backend message as the tests see it: the type letter, with what a user would look at
     * after a colon: "R:0", "S:name=value", "Z:I", "D:first column", "C:tag",
     * "E:sqlstate:message", "N:sqlstate:message"; other types as the bare letter.
     */
    static String describeBackend(byte type, ByteBuf body) {
        try {
            return describeBackendFields(type, body);
        } catch (IndexOutOfBoundsException e) {
            // Bytes that are not the message their type says: a stream out of step.
            return (char) type + ":<garbled>";
        }
    }

    private static String describeBackendFields(byte type, ByteBuf body) {
        switch (type) {
            case 'R':
                return "R:" + body.getInt(body.readerIndex());
            case 'S': {
                ByteBuf b = body.duplicate();
                return "S:" + cstring(b) + "=" + cstring(b);
            }
            case 'Z':
                return "Z:" + (char) body.getByte(body.readerIndex());
            case 'D': {
                ByteBuf b = body.duplicate();
                if (b.readShort() == 0) {
                    return "D";
                }
                int len = b.readInt();
                return "D:" + (len < 0 ? "null" : b.readCharSequence(len, StandardCharsets.UTF_8));
            }
            case 'C':
                return "C:" + cstring(body.duplicate());
            case 'E':
            case 'N': {
                String code = "";
                String message = "";
                ByteBuf b = body.duplicate();
                while (b.isReadable()) {
                    byte field = b.readByte();
                    if (field == 0) {
                        break;
                    }
                    String value = cstring(b);
                    if (field == 'C') {
                        code = value;
                    } else if (field == 'M') {
                        message = value;
                    }
                }
                return (char) type + ":" + code + ":" + message;
            }
            case 'd':
                return "d:" + body.toString(StandardCharsets.UTF_8);
            default:
                return String.valueOf((char) type);
        }
    }

    /** Frontend message types and the fields a test asserts on, as the fake server records them. */
    static String describeFrontend(byte type, ByteBuf body) {
        ByteBuf b = body.duplicate();
        switch (type) {
            case 'Q':
                return "Q:" + cstring(b);
            case 'P':
                return "P:" + cstring(b) + ":" + cstring(b);
            case 'B':
                return "B:" + cstring(b) + ":" + cstring(b);
            case 'D':
            case 'C':
                return (char) type + ":" + (char) b.readByte() + ":" + cstring(b);
            case 'E':
                return "E:" + cstring(b);
            case 'd':
                return "d:" + b.toString(StandardCharsets.UTF_8);
            case 'f':
                return "f:" + cstring(b);
            default:
                return String.valueOf((char) type);
        }
    }

    static String cstring(ByteBuf b) {
        int end = b.indexOf(b.readerIndex(), b.writerIndex(), (byte) 0);
        if (end < 0) {
            throw new IndexOutOfBoundsException("no string terminator");
        }
        String s = b.toString(b.readerIndex(), end - b.readerIndex(), StandardCharsets.UTF_8);
        b.readerIndex(end + 1);
        return s;
    }

    /** Splits a run of whole typed messages into one byte array each (for message-by-message writes). */
    static List<byte[]> messages(byte[] run) {
        List<byte[]> out = new ArrayList<>();
        int at = 0;
        while (at < run.length) {
            int len = ((run[at + 1] & 0xff) << 24) | ((run[at + 2] & 0xff) << 16) | ((run[at + 3] & 0xff) << 8)
                    | (run[at + 4] & 0xff);
            byte[] m = new byte[len + 1];
            System.arraycopy(run, at, m, 0, m.length);
            out.add(m);
            at += m.length;
        }
        return out;
    }

    // ---- bytes ----

    static byte[] msg(char type, byte[]... parts) {
        byte[] body = concat(parts);
        byte[] out = new byte[body.length + 5];
        out[0] = (byte) type;
        System.arraycopy(int32(body.length + 4), 0, out, 1, 4);
        System.arraycopy(body, 0, out, 5, body.length);
        return out;
    }

    private static byte[] untyped(byte[] body) {
        return concat(int32(body.length + 4), body);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    static byte[] int16(int v) {
        return new byte[] {(byte) (v >>> 8), (byte) v};
    }

    static byte[] cstr(String s) {
        return concat(bytes(s), new byte[] {0});
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
