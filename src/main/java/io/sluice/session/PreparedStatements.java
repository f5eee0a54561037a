package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.sluice.pool.Pool;
import io.sluice.pool.ServerStatements;
import io.sluice.pool.ServerStatements.Reply;
import io.sluice.protocol.BackendCodes;
import io.sluice.protocol.FrontendCodes;
import io.sluice.protocol.MemoryBudget;
import io.sluice.protocol.MessageTooLargeException;
import io.sluice.protocol.PgReader;
import io.sluice.protocol.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One client's named prepared statements in transaction and statement modes, and the rewriting
 * of its Parse, Bind, Describe and Close so that they work on whichever server it has now.
 *
 * <p>On servers a statement lives under a name derived from its text and parameter types
 * ({@code _sluice_<hash>}), so every client of the pool that prepares the same query shares one
 * server statement. A statement missing on the current server is prepared there first, and its
 * ParseComplete hidden. Errors come from PostgreSQL itself, so they read and behave exactly as on
 * a direct connection: an unknown name is sent as is (26000), and a duplicate name is sent after
 * a stray Parse of the same name (42P05), which is closed later.
 */
final class PreparedStatements {
    /** Never prepared anywhere: closing it makes the server answer CloseComplete and nothing else. */
    static final String NONE = "_sluice_none";
    private static final String PREFIX = "_sluice_";
    /** Parse body after the name for the stray statement: "SELECT 1", no parameter types. */
    private static final byte[] STRAY_TAIL = "SELECT 1\0\0\0".getBytes(StandardCharsets.US_ASCII);
    private static final FastThreadLocal<MessageDigest> SHA256 = new FastThreadLocal<>() {
        @Override
        protected MessageDigest initialValue() throws NoSuchAlgorithmException {
            return MessageDigest.getInstance("SHA-256");
        }
    };

    /** A client statement: its server name and the Parse body after the name (query, types). */
    private record Statement(String serverName, byte[] parseTail) {
    }

    /** Created on the first named Parse: most clients of a pool never prepare by name. */
    private Map<String, Statement> byName = Map.of();
    /** Bytes of statement text held for this client, taken from {@link MemoryBudget#STATEMENTS}. */
    private long held;
    private final Pool pool;

    PreparedStatements(Pool pool) {
        this.pool = pool;
    }

    /** Before a client's messages go to a server: close what Sluice left to close there. */
    void beginBatch(ServerStatements server, ByteBuf out) {
        if (server.toClose().isEmpty()) {
            return;
        }
        for (String name : server.toClose()) {
            writeClose(out, name);
            server.expect(BackendCodes.CLOSE_COMPLETE, Reply.HIDE, null);
        }
        server.toClose().clear();
    }

    boolean hasPendingCloses(ServerStatements server) {
        return !server.toClose().isEmpty();
    }

    /**
     * True when a Parse, Bind, Describe or Close (seen from its first readable bytes) is about
     * the unnamed statement or a portal, so it can pass as bytes; its reply is then expected
     * here. False (rewrite it whole) when it names a statement or its start is not read yet.
     */
    boolean passesUnnamed(byte type, int bodyLength, ByteBuf in, ServerStatements server) {
        int at = in.readerIndex();
        int readable = Math.min(in.readableBytes(), bodyLength);
        switch (type) {
            case FrontendCodes.PARSE:
                // An unnamed DISCARD ALL or DEALLOCATE ALL is looked at whole (onParse).
                if (readable < 1 || in.getByte(at) != 0 || mayDropAll(in, at + 1, bodyLength - 1)) {
                    return false;
                }
                server.expect(BackendCodes.PARSE_COMPLETE, Reply.RELAY, null);
                return true;
            case FrontendCodes.BIND: {
                int portalEnd = in.indexOf(at, at + readable, (byte) 0);
                if (portalEnd < 0 || portalEnd + 1 >= at + readable || in.getByte(portalEnd + 1) != 0) {
                    return false;
                }
                server.expect(BackendCodes.BIND_COMPLETE, Reply.RELAY, null);
                return true;
            }
            case FrontendCodes.DESCRIBE:
                return readable >= 2 && (in.getByte(at) == 'P' || in.getByte(at + 1) == 0);
            default:
                if (readable < 2 || (in.getByte(at) != 'P' && in.getByte(at + 1) != 0)) {
                    return false;
                }
                server.expect(BackendCodes.CLOSE_COMPLETE, Reply.RELAY, null);
                return true;
        }
    }

    void onParse(ByteBuf body, ServerStatements server, ByteBuf out) {
        int start = body.readerIndex();
        String name = PgReader.cstring(body);
        int tailStart = body.readerIndex();
        int queryEnd = body.indexOf(tailStart, body.writerIndex(), (byte) 0);
        if (queryEnd < 0 || body.writerIndex() - queryEnd - 1 < 2) {
            throw new ProtocolException("malformed Parse message");
        }
        int params = body.getUnsignedShort(queryEnd + 1);
        if (body.writerIndex() - queryEnd - 3 != params * 4) {
            throw new ProtocolException("malformed Parse message");
        }
        if (name.isEmpty()) {
            if (queryEnd - tailStart <= 64
                    && ServerStatements.dropsAll(body.toString(tailStart, queryEnd - tailStart, StandardCharsets.UTF_8))) {
                forgetAll(server);
            }
            copy(out, FrontendCodes.PARSE, body, start);
            server.expect(BackendCodes.PARSE_COMPLETE, Reply.RELAY, null);
            return;
        }
        if (byName.containsKey(name)) {
            // 42P05 from PostgreSQL: a stray statement of that name, then the client's Parse.
            writeParse(out, name, STRAY_TAIL);
            server.expect(BackendCodes.PARSE_COMPLETE, Reply.HIDE, null);
            copy(out, FrontendCodes.PARSE, body, start);
            server.expect(BackendCodes.PARSE_COMPLETE, Reply.RELAY, null);
            server.closeLater(name);
            return;
        }
        pool.metrics().clientParse();
        hold(name, body.writerIndex() - tailStart);
        byte[] tail = ByteBufUtil.getBytes(body, tailStart, body.writerIndex() - tailStart);
        Statement st = new Statement(serverName(tail), tail);
        if (byName.isEmpty()) {
            byName = new HashMap<>();
        }
        byName.put(name, st);
        if (server.has(st.serverName())) {
            // Already there: a Close of nothing makes the server answer in this very place,
            // and its CloseComplete reaches the client as the ParseComplete it expects.
            writeClose(out, NONE);
            server.expect(BackendCodes.CLOSE_COMPLETE, Reply.AS_PARSE_COMPLETE, null, name);
        } else {
            prepare(st, server, out, Reply.RELAY, name);
        }
    }

    /** Statements the client holds under its own names. */
    int count() {
        return byName.size();
    }

    void onBind(ByteBuf body, ServerStatements server, ByteBuf out) {
        int start = body.readerIndex();
        String portal = PgReader.cstring(body);
        String name = PgReader.cstring(body);
        Statement st = name.isEmpty() ? null : byName.get(name);
        if (st == null) {
            // Unnamed, or unknown: PostgreSQL says "prepared statement ... does not exist".
            copy(out, FrontendCodes.BIND, body, start);
            server.expect(BackendCodes.BIND_COMPLETE, Reply.RELAY, null);
            return;
        }
        ensurePrepared(st, server, out);
        pool.metrics().bind();
        out.writeByte(FrontendCodes.BIND);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        cstring(out, portal);
        cstring(out, st.serverName());
        out.writeBytes(body, body.readerIndex(), body.readableBytes());
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
        server.expect(BackendCodes.BIND_COMPLETE, Reply.RELAY, st.serverName());
    }

    void onDescribe(ByteBuf body, ServerStatements server, ByteBuf out) {
        int start = body.readerIndex();
        byte kind = body.readByte();
        String name = PgReader.cstring(body);
        Statement st = kind == 'S' && !name.isEmpty() ? byName.get(name) : null;
        if (st == null) {
            copy(out, FrontendCodes.DESCRIBE, body, start);
            return;
        }
        ensurePrepared(st, server, out);
        out.writeByte(FrontendCodes.DESCRIBE);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        out.writeByte('S');
        cstring(out, st.serverName());
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
    }

    /** The client's Parse of these names failed or was skipped: as in PostgreSQL, they do not exist. */
    void notParsed(List<String> names) {
        if (byName.isEmpty()) {
            return;
        }
        for (String name : names) {
            forget(name);
        }
    }

    /**
     * Takes {@code bytes} for the text of statement {@code name} from the budget the clients'
     * statements share, or ends the client with FATAL 54000 (through the exception): a client
     * preparing ever more statements would otherwise grow the heap without end.
     */
    private void hold(String name, int bytes) {
        MemoryBudget budget = MemoryBudget.STATEMENTS;
        if (bytes > budget.maxMessage() || !budget.reserve(bytes)) {
            throw new MessageTooLargeException("prepared statement \"" + name + "\" of " + bytes
                    + " bytes does not fit in the memory Sluice keeps for prepared statements ("
                    + (budget.limit() >> 20) + " MB, all clients together)");
        }
        held += bytes;
    }

    private void forget(String name) {
        Statement st = byName.remove(name);
        if (st != null) {
            MemoryBudget.STATEMENTS.release(st.parseTail().length);
            held -= st.parseTail().length;
        }
    }

    /** The client is gone: what its statements held goes back to the budget. */
    void release() {
        MemoryBudget.STATEMENTS.release(held);
        held = 0;
        byName = Map.of();
    }

    /** A client's Close of its statement is answered without touching the shared one. */
    void onClose(ByteBuf body, ServerStatements server, ByteBuf out) {
        int start = body.readerIndex();
        byte kind = body.readByte();
        String name = PgReader.cstring(body);
        if (kind == 'S' && !name.isEmpty() && byName.containsKey(name)) {
            forget(name);
            writeClose(out, NONE);
        } else {
            copy(out, FrontendCodes.CLOSE, body, start);
        }
        server.expect(BackendCodes.CLOSE_COMPLETE, Reply.RELAY, null);
    }

    /**
     * Whether a simple query (peeked at from its first readable bytes) could be DEALLOCATE ALL
     * or DISCARD ALL, and so must be looked at whole: short, and starting with a 'd'. Decided
     * here so that ordinary queries pass as bytes, copied nowhere.
     */
    static boolean mayDropAll(ByteBuf in, int bodyLength) {
        return mayDropAll(in, in.readerIndex(), bodyLength);
    }

    /** As {@link #mayDropAll(ByteBuf, int)}, for the text that starts at {@code from}. */
    private static boolean mayDropAll(ByteBuf in, int from, int length) {
        if (length > 256) {
            return false;
        }
        int end = Math.min(in.writerIndex(), from + length);
        for (int i = from; i < end; i++) {
            byte b = in.getByte(i);
            if (!Character.isWhitespace(b)) {
                return (b | 0x20) == 'd';
            }
        }
        return true;
    }

    /** A short simple query: DEALLOCATE ALL or DISCARD ALL drop every statement, here and there. */
    void onQuery(ByteBuf body, ServerStatements server) {
        // Most queries are not these: decide from the first letter before decoding anything.
        int i = body.readerIndex();
        int end = body.writerIndex();
        while (i < end && Character.isWhitespace(body.getByte(i))) {
            i++;
        }
        if (i == end || (body.getByte(i) | 0x20) != 'd') {
            return;
        }
        int nul = body.indexOf(i, end, (byte) 0);
        if (nul > 0 && ServerStatements.dropsAll(body.toString(i, nul - i, StandardCharsets.UTF_8))) {
            forgetAll(server);
        }
    }

    private void forgetAll(ServerStatements server) {
        release();
        server.clear();
    }

    private void ensurePrepared(Statement st, ServerStatements server, ByteBuf out) {
        if (!server.has(st.serverName())) {
            prepare(st, server, out, Reply.HIDE, null);
        }
    }

    /** {@code clientName}: the client's own Parse of that name, which it forgets if this one fails. */
    private void prepare(Statement st, ServerStatements server, ByteBuf out, Reply reply, String clientName) {
        String evicted = server.add(st.serverName());
        if (evicted != null) {
            writeClose(out, evicted);
            server.expect(BackendCodes.CLOSE_COMPLETE, Reply.HIDE, null);
        }
        if (server.uncertain()) {
            // It may be there after all (a DISCARD ALL that failed): a Close first cannot fail.
            writeClose(out, st.serverName());
            server.expect(BackendCodes.CLOSE_COMPLETE, Reply.HIDE, null);
        }
        writeParse(out, st.serverName(), st.parseTail());
        server.expect(BackendCodes.PARSE_COMPLETE, reply, st.serverName(), clientName);
        pool.metrics().serverParse();
    }

    /** {@code _sluice_} + 96 bits of SHA-256 of the query text and parameter types. */
    private static String serverName(byte[] parseTail) {
        MessageDigest md = SHA256.get();
        md.reset();
        byte[] h = md.digest(parseTail);
        StringBuilder sb = new StringBuilder(PREFIX.length() + 24).append(PREFIX);
        for (int i = 0; i < 12; i++) {
            sb.append(Character.forDigit((h[i] >> 4) & 0xf, 16)).append(Character.forDigit(h[i] & 0xf, 16));
        }
        return sb.toString();
    }

    private static void writeParse(ByteBuf out, String name, byte[] tail) {
        out.writeByte(FrontendCodes.PARSE);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        cstring(out, name);
        out.writeBytes(tail);
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
    }

    private static void writeClose(ByteBuf out, String name) {
        out.writeByte(FrontendCodes.CLOSE);
        int lengthAt = out.writerIndex();
        out.writeInt(0);
        out.writeByte('S');
        cstring(out, name);
        out.setInt(lengthAt, out.writerIndex() - lengthAt);
    }

    private static void copy(ByteBuf out, byte type, ByteBuf body, int start) {
        int len = body.writerIndex() - start;
        out.writeByte(type).writeInt(4 + len).writeBytes(body, start, len);
    }

    private static void cstring(ByteBuf out, String s) {
        ByteBufUtil.writeUtf8(out, s);
        out.writeByte(0);
    }
}
