package io.sluice.testing;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The well-formed (and a few deliberately ill-formed) messages the fuzz tests start from, one
 * list per direction: frontend and backend codes are separate namespaces ('D' is Describe one
 * way and DataRow the other), so each side has its own builders.
 */
public final class Seeds {
    private Seeds() {
    }

    public static final String USER = "alice";
    public static final String PASSWORD = "secret";
    public static final String DATABASE = "app";

    // ---- frontend: what a client sends ----

    public static byte[] startup(String... pairs) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(int32(196608));
        for (String s : pairs) {
            body.writeBytes(cstr(s));
        }
        body.write(0);
        return untyped(body.toByteArray());
    }

    public static final byte[] STARTUP = startup("user", USER, "database", DATABASE, "application_name", "fuzz");
    public static final byte[] SSL_REQUEST = untyped(int32(80877103));
    public static final byte[] GSSENC_REQUEST = untyped(int32(80877104));

    public static byte[] password(String password) {
        return msg('p', cstr(password));
    }

    /** Frontend messages of every type, and start-up packets of every kind. */
    public static List<byte[]> frontend() {
        return List.of(
                STARTUP,
                startup("user", USER),
                startup("user", USER, "database", DATABASE, "options", "-c x=y", "search_path", "a"),
                startup("user", "x".repeat(9_000)),
                startup(),
                SSL_REQUEST,
                GSSENC_REQUEST,
                // An SSLRequest with the start-up packet inside its own length: bytes after it in one packet.
                concat(int32(8 + STARTUP.length), int32(80877103), STARTUP),
                untyped(concat(int32(80877102), int32(1234), int32(5678))),
                untyped(int32(2 << 16)),
                password(PASSWORD),
                password("md5" + "0".repeat(32)),
                msg('p', cstr("SCRAM-SHA-256"), int32(14), bytes("n,,n=,r=abcdef")),
                msg('p', cstr("SCRAM-SHA-256"), int32(-1)),
                msg('p', cstr("SCRAM-SHA-256"), int32(1 << 30), bytes("n,,")),
                msg('p', cstr("PLAIN"), int32(0)),
                msg('p', bytes("c=biws,r=abcdef,p=" + "A".repeat(44))),
                msg('p', bytes("not a SCRAM message")),
                msg('Q', cstr("SELECT 1")),
                msg('Q', cstr("DEALLOCATE ALL")),
                msg('Q', cstr("BEGIN")),
                msg('Q', cstr("COMMIT")),
                msg('Q', cstr("SELECT error")),
                msg('Q', cstr("")),
                msg('P', cstr(""), cstr("SELECT $1"), int16(1), int32(25)),
                msg('P', cstr("s1"), cstr("SELECT 1"), int16(0)),
                msg('B', cstr(""), cstr("s1"), int16(0), int16(1), int32(1), bytes("x"), int16(0)),
                msg('B', cstr("p1"), cstr("s1"), int16(-1)),
                msg('E', cstr(""), int32(0)),
                msg('D', bytes("S"), cstr("s1")),
                msg('D', bytes("P"), cstr("")),
                msg('C', bytes("S"), cstr("s1")),
                msg('C', bytes("P"), cstr("p1")),
                msg('C', bytes("X"), cstr("s1")),
                msg('D', bytes("S"), cstr("never prepared")),
                msg('S'),
                msg('H'),
                msg('F', int32(1), int16(0), int16(0), int16(0)),
                msg('d', bytes("1\n")),
                msg('c'),
                msg('f', cstr("no")),
                msg('X'),
                // Types no frontend sends, and lengths a parser must refuse.
                msg('z', bytes("?")),
                concat(bytes("Q"), int32(3)),
                concat(bytes("Q"), int32(-1)),
                concat(bytes("Q"), int32(Integer.MAX_VALUE), bytes("SELECT")),
                concat(bytes("p"), int32(10_005), bytes("x")));
    }

    // ---- backend: what a server sends ----

    public static byte[] authOk() {
        return msg('R', int32(0));
    }

    public static byte[] parameterStatus(String name, String value) {
        return msg('S', cstr(name), cstr(value));
    }

    public static byte[] readyForQuery(char status) {
        return msg('Z', new byte[] {(byte) status});
    }

    public static byte[] error(String severity, String sqlState, String message) {
        return msg('E', bytes("S"), cstr(severity), bytes("V"), cstr(severity), bytes("C"), cstr(sqlState),
                bytes("M"), cstr(message), new byte[] {0});
    }

    /** What PostgreSQL sends when a trust login succeeds. */
    public static byte[] welcome() {
        return concat(authOk(), parameterStatus("server_version", "16.4"), parameterStatus("server_encoding", "UTF8"),
                parameterStatus("client_encoding", "UTF8"), parameterStatus("DateStyle", "ISO, MDY"),
                parameterStatus("TimeZone", "UTC"), parameterStatus("standard_conforming_strings", "on"),
                parameterStatus("integer_datetimes", "on"), msg('K', int32(1001), int32(77)), readyForQuery('I'));
    }

    /** Backend messages of every type Sluice decodes or relays, and the hostile cases of issue 22. */
    public static List<byte[]> backend() {
        return List.of(
                authOk(),
                msg('R', int32(3)),
                msg('R', int32(5), bytes("salt")),
                msg('R', int32(5)),
                msg('R', int32(10), cstr("SCRAM-SHA-256"), new byte[] {0}),
                // AuthenticationSASL with no mechanisms, and with garbage ones.
                msg('R', int32(10), new byte[] {0}),
                msg('R', int32(10)),
                msg('R', int32(10), cstr("\u0001\u00ff"), cstr("SCRAM-SHA-1"), bytes("unterminated")),
                msg('R', int32(11), bytes("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")),
                // An over-long nonce in the server-first-message.
                msg('R', int32(11), bytes("r=" + "n".repeat(60_000) + ",s=QSXCR+Q6sek8bf92,i=4096")),
                msg('R', int32(11), bytes("r=x,s=%%%,i=-1")),
                msg('R', int32(12), bytes("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")),
                msg('R', int32(7)),
                msg('R', int32(-1)),
                msg('R'),
                parameterStatus("client_encoding", "UTF8"),
                parameterStatus("application_name", ""),
                // A huge ParameterStatus, and one with no terminators.
                parameterStatus("x", "v".repeat(70_000)),
                msg('S', bytes("no terminator")),
                msg('K', int32(1001), int32(77)),
                msg('K', int32(1)),
                readyForQuery('I'),
                readyForQuery('T'),
                readyForQuery('E'),
                readyForQuery('?'),
                msg('Z'),
                error("FATAL", "3D000", "database does not exist"),
                error("ERROR", "42601", "syntax error"),
                error("FATAL", "57P03", "the database system is starting up"),
                // An ErrorResponse without a SQLSTATE, one with nothing at all, one unterminated.
                msg('E', bytes("S"), cstr("FATAL"), bytes("M"), cstr("no code"), new byte[] {0}),
                msg('E', new byte[] {0}),
                msg('E', bytes("SFATAL")),
                msg('N', bytes("S"), cstr("NOTICE"), bytes("C"), cstr("00000"), bytes("M"), cstr("hi"), new byte[] {0}),
                msg('v', int32(0), int32(1), cstr("_pq_.x")),
                msg('T', int16(1), cstr("c"), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)),
                msg('D', int16(1), int32(1), bytes("1")),
                msg('C', cstr("SELECT 1")),
                msg('I'),
                msg('1'),
                msg('2'),
                msg('3'),
                msg('n'),
                msg('s'),
                msg('t', int16(0)),
                msg('G', new byte[] {0}, int16(0)),
                msg('H', new byte[] {0}, int16(0)),
                msg('W', new byte[] {0}, int16(0)),
                msg('d', bytes("row\n")),
                msg('c'),
                msg('A', int32(1), cstr("chan"), cstr("payload")),
                msg('V', int32(-1)),
                concat(bytes("Z"), int32(3)),
                concat(bytes("E"), int32(-5)),
                concat(bytes("S"), int32(Integer.MAX_VALUE), bytes("huge")),
                concat(bytes("R"), int32((1 << 20) + 9), int32(11)));
    }

    // ---- bytes ----

    public static byte[] msg(char type, byte[]... parts) {
        byte[] body = concat(parts);
        return concat(new byte[] {(byte) type}, int32(body.length + 4), body);
    }

    static byte[] untyped(byte[] body) {
        return concat(int32(body.length + 4), body);
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    public static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    static byte[] int16(int v) {
        return new byte[] {(byte) (v >>> 8), (byte) v};
    }

    public static byte[] cstr(String s) {
        return concat(bytes(s), new byte[] {0});
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
