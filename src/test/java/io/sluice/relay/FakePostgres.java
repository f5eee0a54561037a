package io.sluice.relay;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalServerChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A scripted PostgreSQL on a {@link LocalServerChannel}: logs every connection in (or fails
 * its login as told), answers queries like a tiny backend (simple and extended protocol,
 * transaction status, errors skipping to Sync, COPY FROM STDIN ignoring Syncs), and records
 * every frontend message it received, so a test asserts what reached the server.
 *
 * <p>A test changes the answers with a {@link Script}, which sees each message first, and can
 * close a connection at any step. Everything here runs on the fake's own event loop; the
 * records are read from the test thread, hence the concurrent lists.
 */
final class FakePostgres implements AutoCloseable {
    /** What the fake does with a connection's StartupMessage. */
    enum Login {
        /** AuthenticationOk, parameters, BackendKeyData, ReadyForQuery 'I'. */
        OK,
        /** Closes on receiving the StartupMessage. */
        CLOSE_AT_STARTUP,
        /** AuthenticationOk and the parameters, then a close before ReadyForQuery. */
        CLOSE_BEFORE_READY,
        /** FATAL 3D000, as PostgreSQL for a database that does not exist, then a close. */
        FATAL
    }

    /**
     * Sees each frontend message (as {@link Wire#describeFrontend} writes it) before the fake's
     * own answer; returns true when it has answered (or closed), false to let the fake answer.
     */
    @FunctionalInterface
    interface Script {
        boolean handle(Backend conn, String message);
    }

    static final Script DEFAULT = (c, m) -> false;

    private final Channel listener;
    final LocalAddress address;
    /** Every connection that sent a StartupMessage, in order. */
    final List<Backend> connections = new CopyOnWriteArrayList<>();
    /** CancelRequests received, as "pid/key". */
    final Record cancels = new Record();
    /** Every accepted channel, cancel connections too, to close them all at the end. */
    private final List<Channel> accepted = new CopyOnWriteArrayList<>();
    private final ConcurrentLinkedDeque<Login> logins = new ConcurrentLinkedDeque<>();
    volatile Script script = DEFAULT;

    FakePostgres(EventLoopGroup loop, String name) throws InterruptedException {
        this.address = new LocalAddress(name);
        this.listener = new ServerBootstrap().group(loop).channel(LocalServerChannel.class)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.add(ch);
                        ch.pipeline().addLast(new Backend());
                    }
                })
                .bind(address).sync().channel();
    }

    /** The next connections' logins, in order; after these, logins succeed. */
    void nextLogins(Login... next) {
        for (Login l : next) {
            logins.addLast(l);
        }
    }

    Backend connection(int i) {
        return connections.get(i);
    }

    /** Stops accepting: later connects fail, as to a PostgreSQL that is down. */
    void stopListening() {
        listener.close().syncUninterruptibly();
    }

    /** Stops listening and closes every connection: Sluice's ends hear of it on their own loop. */
    @Override
    public void close() {
        listener.close().syncUninterruptibly();
        for (Channel ch : accepted) {
            ch.close().syncUninterruptibly();
        }
    }

    /** What the fake received, in order, written on its loop and read (or waited for) by the test. */
    static final class Record extends CopyOnWriteArrayList<String> {
        @Override
        public synchronized boolean add(String m) {
            super.add(m);
            notifyAll();
            return true;
        }

        /** Waits until {@code entry} is here (at most 5 s; then the test fails). */
        synchronized void await(String entry) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!contains(entry)) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("the fake did not receive " + entry + "; got " + this);
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
        }
    }

    /** One server connection's backend. */
    final class Backend extends ByteToMessageDecoder {
        final CompletableFuture<Void> closed = new CompletableFuture<>();
        /** Frontend messages received, described; "partial:N" for N bytes of an unfinished one at close. */
        final Record received = new Record();
        final Map<String, String> startup = new HashMap<>();
        /** BackendKeyData: the process id tells connections apart in replies to SELECT pg_backend_pid(). */
        int pid;
        final int key = 77;
        private ChannelHandlerContext ctx;
        private boolean started;
        private boolean closing;
        private char tx = 'I';
        private boolean skipToSync;
        private boolean copyIn;
        private boolean copyExtended;
        private int copyRows;
        private boolean copyBad;
        private final Map<String, String> statements = new HashMap<>();
        private final Map<String, String> portals = new HashMap<>();

        @Override
        public void handlerAdded(ChannelHandlerContext c) {
            ctx = c;
        }

        /** Queues backend messages; they leave at the end of the read, or at {@link #close}. */
        void send(byte[]... messages) {
            for (byte[] m : messages) {
                ctx.write(ctx.alloc().buffer(m.length).writeBytes(m), ctx.voidPromise());
            }
        }

        /** Sends now, from any thread. */
        void sendNow(byte[]... messages) {
            run(() -> {
                send(messages);
                ctx.flush();
            });
        }

        /** Closes after what was sent, from any thread; waits until closed. */
        void closeNow() {
            run(this::close);
            await();
        }

        /** Closes after what was sent (on the fake's loop). */
        void close() {
            closing = true;
            ctx.flush();
            ctx.close();
        }

        /** Waits until this connection is closed (at most 5 s; then the test fails). */
        void await() {
            try {
                closed.get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError("the fake's connection " + pid + " is still open after 5 s; it received "
                        + received, e);
            }
        }

        /** Waits until {@code message} has arrived here (at most 5 s; then the test fails). */
        void awaitReceived(String message) {
            received.await(message);
        }

        boolean isClosed() {
            return closed.isDone();
        }

        private void run(Runnable r) {
            if (ctx.executor().inEventLoop()) {
                r.run();
            } else {
                ctx.executor().submit(r).syncUninterruptibly();
            }
        }

        @Override
        protected void decode(ChannelHandlerContext c, ByteBuf in, List<Object> out) {
            while (!closing) {
                if (!started) {
                    if (in.readableBytes() < 4 || in.readableBytes() < in.getInt(in.readerIndex())) {
                        return;
                    }
                    int len = in.readInt();
                    onStartupPacket(in.readSlice(len - 4));
                    continue;
                }
                if (in.readableBytes() < 5 || in.readableBytes() < 1 + in.getInt(in.readerIndex() + 1)) {
                    return;
                }
                byte type = in.readByte();
                ByteBuf body = in.readSlice(in.readInt() - 4);
                String described = Wire.describeFrontend(type, body);
                received.add(described);
                if (!script.handle(this, described)) {
                    answer(type, body);
                }
            }
            in.skipBytes(in.readableBytes());
        }

        @Override
        protected void decodeLast(ChannelHandlerContext c, ByteBuf in, List<Object> out) {
            decode(c, in, out);
            if (in.isReadable()) {
                received.add("partial:" + in.readableBytes());
                in.skipBytes(in.readableBytes());
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext c) throws Exception {
            c.flush();
            super.channelReadComplete(c);
        }

        @Override
        public void channelInactive(ChannelHandlerContext c) throws Exception {
            try {
                super.channelInactive(c);
            } finally {
                closed.complete(null);
            }
        }

        private void onStartupPacket(ByteBuf packet) {
            int code = packet.readInt();
            if (code == 80877102) {
                cancels.add(packet.readInt() + "/" + packet.readInt());
                close();
                return;
            }
            if (code == 80877103) {
                send(Wire.bytes("N"));
                return;
            }
            while (packet.isReadable() && packet.getByte(packet.readerIndex()) != 0) {
                startup.put(Wire.cstring(packet), Wire.cstring(packet));
            }
            started = true;
            // 1001, 1002...: the n-th connection of this fake, as tests read it back.
            pid = 1001 + connections.size();
            connections.add(this);
            Login login = logins.pollFirst();
            switch (login == null ? Login.OK : login) {
                case OK -> send(welcome());
                case CLOSE_AT_STARTUP -> close();
                case CLOSE_BEFORE_READY -> {
                    send(Wire.authOk(), Wire.parameterStatus("server_version", "16.4"));
                    close();
                }
                case FATAL -> {
                    send(Wire.error("FATAL", "3D000", "database \"" + startup.get("database") + "\" does not exist"));
                    close();
                }
            }
        }

        private byte[] welcome() {
            return Wire.concat(Wire.authOk(),
                    Wire.parameterStatus("server_version", "16.4"),
                    Wire.parameterStatus("server_encoding", "UTF8"),
                    Wire.parameterStatus("client_encoding", "UTF8"),
                    Wire.parameterStatus("DateStyle", "ISO, MDY"),
                    Wire.parameterStatus("TimeZone", "UTC"),
                    Wire.parameterStatus("standard_conforming_strings", "on"),
                    Wire.parameterStatus("integer_datetimes", "on"),
                    Wire.backendKeyData(pid, key),
                    Wire.readyForQuery('I'));
        }

        // ---- a tiny backend ----

        private void answer(byte type, ByteBuf body) {
            if (copyIn) {
                answerCopy(type, body);
                return;
            }
            if (skipToSync && type != 'S' && type != 'X') {
                return;
            }
            ByteBuf b = body.duplicate();
            switch (type) {
                case 'Q' -> simpleQuery(Wire.cstring(b));
                case 'P' -> {
                    String name = Wire.cstring(b);
                    String sql = Wire.cstring(b);
                    if (sql.toUpperCase(Locale.ROOT).startsWith("BAD")) {
                        error("42601", "syntax error at or near \"BAD\"", true);
                    } else {
                        statements.put(name, sql);
                        send(Wire.msg('1'));
                    }
                }
                case 'B' -> {
                    String portal = Wire.cstring(b);
                    String statement = Wire.cstring(b);
                    String sql = statements.get(statement);
                    if (sql == null) {
                        error("26000", "prepared statement \"" + statement + "\" does not exist", true);
                    } else {
                        portals.put(portal, sql);
                        send(Wire.msg('2'));
                    }
                }
                case 'D' -> {
                    char kind = (char) b.readByte();
                    String sql = kind == 'S' ? statements.get(Wire.cstring(b)) : portals.get(Wire.cstring(b));
                    if (kind == 'S') {
                        send(Wire.msg('t', Wire.int16(0)));
                    }
                    send(sql != null && sql.toUpperCase(Locale.ROOT).startsWith("SELECT")
                            ? Wire.rowDescription("?column?") : Wire.msg('n'));
                }
                case 'E' -> {
                    String sql = portals.get(Wire.cstring(b));
                    if (sql == null) {
                        error("34000", "portal does not exist", true);
                    } else {
                        statement(sql, true);
                    }
                }
                case 'C' -> {
                    char kind = (char) b.readByte();
                    (kind == 'S' ? statements : portals).remove(Wire.cstring(b));
                    send(Wire.msg('3'));
                }
                case 'S' -> {
                    skipToSync = false;
                    portals.remove("");
                    send(Wire.readyForQuery(tx));
                }
                case 'H' -> ctx.flush();
                case 'X' -> close();
                default -> {
                    send(Wire.error("FATAL", "08P01", "invalid frontend message type " + (int) type));
                    close();
                }
            }
        }

        private void simpleQuery(String sql) {
            for (String s : sql.split(";")) {
                if (s.isBlank()) {
                    continue;
                }
                if (!statement(s.trim(), false)) {
                    break;
                }
                if (copyIn) {
                    // ReadyForQuery comes after the COPY's data.
                    return;
                }
            }
            if (sql.isBlank()) {
                send(Wire.msg('I'));
            }
            send(Wire.readyForQuery(tx));
        }

        /** Runs one statement; false when it failed. */
        private boolean statement(String sql, boolean extended) {
            String upper = sql.toUpperCase(Locale.ROOT);
            if (tx == 'E' && !upper.startsWith("ROLLBACK") && !upper.startsWith("COMMIT")) {
                error("25P02", "current transaction is aborted, commands ignored until end of transaction block",
                        extended);
                return false;
            }
            if (upper.contains("ERROR")) {
                error("42703", "column \"error\" does not exist", extended);
                return false;
            }
            if (upper.startsWith("BEGIN")) {
                tx = 'T';
                send(Wire.commandComplete("BEGIN"));
            } else if (upper.startsWith("COMMIT")) {
                send(Wire.commandComplete(tx == 'E' ? "ROLLBACK" : "COMMIT"));
                tx = 'I';
            } else if (upper.startsWith("ROLLBACK")) {
                tx = 'I';
                send(Wire.commandComplete("ROLLBACK"));
            } else if (upper.startsWith("COPY") && upper.contains("FROM STDIN")) {
                copyIn = true;
                copyExtended = extended;
                copyRows = 0;
                copyBad = false;
                send(Wire.copyInResponse());
            } else if (upper.startsWith("SELECT")) {
                String value = upper.equals("SELECT PG_BACKEND_PID()") ? String.valueOf(pid)
                        : sql.substring("SELECT".length()).trim();
                if (!extended) {
                    send(Wire.rowDescription("?column?"));
                }
                send(Wire.dataRow(value), Wire.commandComplete("SELECT 1"));
            } else if (upper.startsWith("DISCARD")) {
                send(Wire.commandComplete("DISCARD ALL"));
            } else {
                send(Wire.commandComplete(upper.split("\\s+")[0]));
            }
            return true;
        }

        /** In COPY FROM STDIN: data, its end or failure; Sync and Flush are ignored, as PostgreSQL does. */
        private void answerCopy(byte type, ByteBuf body) {
            switch (type) {
                case 'd' -> {
                    String data = body.toString(StandardCharsets.UTF_8);
                    copyRows += (int) data.chars().filter(ch -> ch == '\n').count();
                    copyBad |= data.contains("bad");
                }
                case 'c' -> {
                    copyIn = false;
                    if (copyBad) {
                        error("22P02", "invalid input syntax for type integer: \"bad\"", copyExtended);
                    } else {
                        send(Wire.commandComplete("COPY " + copyRows));
                    }
                    if (!copyExtended) {
                        send(Wire.readyForQuery(tx));
                    }
                }
                case 'f' -> {
                    copyIn = false;
                    error("57014", "COPY from stdin failed: " + Wire.cstring(body.duplicate()), copyExtended);
                    if (!copyExtended) {
                        send(Wire.readyForQuery(tx));
                    }
                }
                case 'S', 'H' -> { }
                default -> {
                    send(Wire.error("FATAL", "08P01", "unexpected message type 0x" + Integer.toHexString(type)
                            + " during COPY from stdin"));
                    close();
                }
            }
        }

        /** An ERROR: the transaction fails, and the extended protocol skips to the next Sync. */
        private void error(String sqlState, String message, boolean extended) {
            send(Wire.error("ERROR", sqlState, message));
            if (tx == 'T') {
                tx = 'E';
            }
            if (extended) {
                skipToSync = true;
            }
        }
    }
}
