package io.sluice.it;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.sluice.auth.Md5Auth;
import io.sluice.auth.Secret;
import io.sluice.protocol.PgWriter;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A bare protocol-3 client for tests that need what drivers don't expose: pipelined Syncs,
 * reading slowly, exact message sequences.
 */
final class PgWire implements AutoCloseable {
    final Socket socket;
    final DataOutputStream out;
    final DataInputStream in;

    /** One backend message. */
    record Msg(char type, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The request code of an Authentication message. */
        int code() {
            return ((body[0] & 0xff) << 24) | ((body[1] & 0xff) << 16) | ((body[2] & 0xff) << 8) | (body[3] & 0xff);
        }

        /** The first column of a DataRow, as text. */
        String firstColumn() {
            int len = ((body[2] & 0xff) << 24) | ((body[3] & 0xff) << 16) | ((body[4] & 0xff) << 8) | (body[5] & 0xff);
            return new String(body, 6, len, StandardCharsets.UTF_8);
        }
    }

    /** Connected and nothing sent: for tests of the start-up packets themselves. */
    private PgWire(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(60_000);
        out = new DataOutputStream(socket.getOutputStream());
        in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    }

    static PgWire connect(int port) throws IOException {
        return new PgWire(port);
    }

    /** Connected and logged in (trust or md5). */
    PgWire(int port, String user, String password, String database) throws IOException {
        this(port);
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", user);
        params.put("database", database);
        send(b -> PgWriter.startup(b, params));
        while (true) {
            Msg m = read();
            if (m.type() == 'R') {
                int code = m.code();
                if (code == 5) {
                    byte[] salt = {m.body()[4], m.body()[5], m.body()[6], m.body()[7]};
                    String response = Md5Auth.clientResponse(user, new Secret.Plain(password), salt);
                    send(b -> PgWriter.password(b, response));
                } else if (code != 0) {
                    throw new IOException("unexpected auth request " + code);
                }
            } else if (m.type() == 'E') {
                throw new IOException("login failed: " + m.text());
            } else if (m.type() == 'Z') {
                return;
            }
        }
    }

    /** A StartupMessage of the given protocol version; {@code params} is name NUL value NUL ... */
    void startup(int version, String params) throws IOException {
        byte[] p = (params + "\0").getBytes(StandardCharsets.UTF_8);
        out.writeInt(8 + p.length);
        out.writeInt(version);
        out.write(p);
        out.flush();
    }

    /** Reads up to ReadyForQuery or the first ErrorResponse. */
    List<Msg> untilReadyOrError() throws IOException {
        List<Msg> msgs = new ArrayList<>();
        while (true) {
            Msg m = read();
            msgs.add(m);
            if (m.type() == 'Z' || m.type() == 'E') {
                return msgs;
            }
        }
    }

    /** True once the peer has closed the connection (after whatever it sent is read). */
    boolean closedByPeer() {
        try {
            return in.read() == -1;
        } catch (IOException e) {
            return true;
        }
    }

    /** Writes messages built by {@code writer} in one packet. */
    void send(java.util.function.Consumer<ByteBuf> writer) throws IOException {
        ByteBuf b = Unpooled.buffer();
        try {
            writer.accept(b);
            out.write(ByteBufUtil.getBytes(b));
            out.flush();
        } finally {
            b.release();
        }
    }

    static void parse(ByteBuf b, String name, String sql) {
        message(b, 'P', body -> {
            cstring(body, name);
            cstring(body, sql);
            body.writeShort(0);
        });
    }

    static void bind(ByteBuf b, String statement) {
        message(b, 'B', body -> {
            cstring(body, "");
            cstring(body, statement);
            body.writeShort(0);
            body.writeShort(0);
            body.writeShort(0);
        });
    }

    static void execute(ByteBuf b) {
        message(b, 'E', body -> {
            cstring(body, "");
            body.writeInt(0);
        });
    }

    static void sync(ByteBuf b) {
        message(b, 'S', body -> { });
    }

    /** Parse of {@code sql} as {@code statement}, then Sync. */
    static void parseSync(ByteBuf b, String statement, String sql) {
        parse(b, statement, sql);
        sync(b);
    }

    /** Bind (unnamed portal) of {@code statement}, Execute and Sync: one execution. */
    static void bindExecuteSync(ByteBuf b, String statement) {
        bind(b, statement);
        execute(b);
        sync(b);
    }

    static void copyData(ByteBuf b, String data) {
        message(b, 'd', body -> body.writeBytes(data.getBytes(StandardCharsets.UTF_8)));
    }

    static void copyDone(ByteBuf b) {
        message(b, 'c', body -> { });
    }

    /** Parse of {@code sql} as {@code statement}, then one execution of it. */
    static void parseBindExecuteSync(ByteBuf b, String statement, String sql) {
        parse(b, statement, sql);
        bindExecuteSync(b, statement);
    }

    static void describeStatement(ByteBuf b, String name) {
        message(b, 'D', body -> {
            body.writeByte('S');
            cstring(body, name);
        });
    }

    static void closeStatement(ByteBuf b, String name) {
        message(b, 'C', body -> {
            body.writeByte('S');
            cstring(body, name);
        });
    }

    /** Types of the messages up to the next ReadyForQuery, e.g. "12DCZ". */
    String typesUntilReady(List<Msg> into) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Msg m : untilReady()) {
            sb.append(m.type());
            if (into != null) {
                into.add(m);
            }
        }
        return sb.toString();
    }

    /** The M field of an ErrorResponse. */
    static String errorMessage(Msg m) {
        return field(m, 'M');
    }

    static String field(Msg m, char f) {
        String s = m.text();
        int i = s.charAt(0) == f ? 1 : s.indexOf("\0" + f) + 2;
        return s.substring(i, s.indexOf('\0', i));
    }

    /** Appends Parse (unnamed), Bind, Execute and Sync for {@code sql} with no parameters. */
    static void extendedQuery(ByteBuf b, String sql) {
        message(b, 'P', body -> {
            cstring(body, "");
            cstring(body, sql);
            body.writeShort(0);
        });
        message(b, 'B', body -> {
            cstring(body, "");
            cstring(body, "");
            body.writeShort(0);
            body.writeShort(0);
            body.writeShort(0);
        });
        message(b, 'E', body -> {
            cstring(body, "");
            body.writeInt(0);
        });
        message(b, 'S', body -> { });
    }

    private static void message(ByteBuf b, char type, java.util.function.Consumer<ByteBuf> body) {
        b.writeByte(type);
        int at = b.writerIndex();
        b.writeInt(0);
        body.accept(b);
        b.setInt(at, b.writerIndex() - at);
    }

    private static void cstring(ByteBuf b, String s) {
        b.writeBytes(s.getBytes(StandardCharsets.UTF_8)).writeByte(0);
    }

    Msg read() throws IOException {
        char type = (char) in.readByte();
        int len = in.readInt();
        byte[] body = new byte[len - 4];
        in.readFully(body);
        return new Msg(type, body);
    }

    /** Reads up to and including the next ReadyForQuery. */
    List<Msg> untilReady() throws IOException {
        List<Msg> msgs = new ArrayList<>();
        while (true) {
            Msg m = read();
            msgs.add(m);
            if (m.type() == 'Z') {
                return msgs;
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
