package io.sluice.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sluice.auth.AuthFile;
import io.sluice.config.Config;
import io.sluice.metrics.Metrics;
import io.sluice.pool.PoolConfig;
import io.sluice.pool.PoolManager;
import io.sluice.pool.ServerConnection;
import io.sluice.pool.ServerConnector;
import io.sluice.protocol.StartupDecoder;
import io.sluice.session.ClientLogin;
import io.sluice.session.SessionContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Sluice's client pipeline and its server connections in EmbeddedChannels, with a scripted
 * PostgreSQL ({@link Backend}) answering on the server side: one thread, no sockets, no sleeps,
 * so a fuzz test runs thousands of logins and sessions in seconds and each is reproducible.
 *
 * <p>Server channels share the client channel's event loop, as Sluice requires of a client and
 * its server; every channel's buffers come from one {@link MeteredAllocator}. Reads are
 * delivered only while the receiving channel has autoRead on (what a socket does), one read per
 * round, so the two sides interleave as over a network. Whatever escapes a handler (an
 * exception reaching a pipeline's tail, one thrown by a task, one logged with a stack trace) is
 * collected in {@link #escaped}.
 */
public final class EmbeddedSluice implements AutoCloseable {
    /** What the scripted PostgreSQL answers, per server connection (numbered from 0). */
    public interface Backend {
        /** The answer to a StartupMessage. */
        Reply login(int connection, Map<String, String> startup);

        /** The answer to one frontend message. */
        Reply message(int connection, byte type, byte[] body);
    }

    /** Reads to send, in order; then, if {@code close}, the connection is closed. */
    public record Reply(List<byte[]> reads, boolean close) {
        public static final Reply NONE = new Reply(List.of(), false);

        public static Reply of(byte[]... messages) {
            return new Reply(List.of(Seeds.concat(messages)), false);
        }

        public static Reply closing(byte[]... messages) {
            return new Reply(List.of(Seeds.concat(messages)), true);
        }
    }

    /**
     * A tiny PostgreSQL: logs every connection in; answers a query with CommandComplete (an
     * ERROR for one that names "error") and ReadyForQuery, with the transaction status BEGIN,
     * COMMIT and ROLLBACK set; the extended protocol with its completions, Sync with
     * ReadyForQuery; ignores COPY messages outside COPY, as PostgreSQL does; closes on Terminate;
     * and ends a connection with FATAL 08P01 on a type it does not know, as PostgreSQL does.
     */
    public static Backend postgres() {
        return new Backend() {
            /** Transaction status per connection. */
            private final Map<Integer, Character> tx = new java.util.HashMap<>();

            @Override
            public Reply login(int connection, Map<String, String> startup) {
                tx.put(connection, 'I');
                return Reply.of(Seeds.welcome());
            }

            @Override
            public Reply message(int connection, byte type, byte[] body) {
                char status = tx.getOrDefault(connection, 'I');
                if (type == 'Q') {
                    String sql = new String(body, StandardCharsets.UTF_8).trim().toUpperCase(java.util.Locale.ROOT);
                    if (sql.contains("ERROR")) {
                        tx.put(connection, status == 'I' ? 'I' : 'E');
                        return Reply.of(Seeds.error("ERROR", "42703", "column \"error\" does not exist"),
                                Seeds.readyForQuery(tx.get(connection)));
                    }
                    tx.put(connection, sql.startsWith("BEGIN") ? 'T'
                            : sql.startsWith("COMMIT") || sql.startsWith("ROLLBACK") ? 'I' : status);
                    return Reply.of(Seeds.msg('C', Seeds.cstr("SELECT 1")), Seeds.readyForQuery(tx.get(connection)));
                }
                if (type == 'S') {
                    return Reply.of(Seeds.readyForQuery(status));
                }
                if (type == 'F') {
                    return Reply.of(Seeds.msg('V', Seeds.int32(-1)), Seeds.readyForQuery(status));
                }
                return POSTGRES.message(connection, type, body);
            }
        };
    }

    /** {@link #postgres}'s answers without transactions: every ReadyForQuery says idle. */
    public static final Backend POSTGRES = new Backend() {
        @Override
        public Reply login(int connection, Map<String, String> startup) {
            return Reply.of(Seeds.welcome());
        }

        @Override
        public Reply message(int connection, byte type, byte[] body) {
            return switch (type) {
                case 'Q' -> Reply.of(Seeds.msg('C', Seeds.cstr("SELECT 1")), Seeds.readyForQuery('I'));
                case 'F' -> Reply.of(Seeds.msg('V', Seeds.int32(-1)), Seeds.readyForQuery('I'));
                case 'S' -> Reply.of(Seeds.readyForQuery('I'));
                case 'P' -> Reply.of(Seeds.msg('1'));
                case 'B' -> Reply.of(Seeds.msg('2'));
                case 'D' -> Reply.of(Seeds.msg('n'));
                case 'E' -> Reply.of(Seeds.msg('C', Seeds.cstr("SELECT 1")));
                case 'C' -> Reply.of(Seeds.msg('3'));
                case 'H', 'd', 'c', 'f' -> Reply.NONE;
                case 'X' -> new Reply(List.of(), true);
                default -> Reply.closing(Seeds.error("FATAL", "08P01", "invalid frontend message type " + type));
            };
        }
    };

    /** The longest message the scripted server accepts. */
    private static final int MAX_MESSAGE = (1 << 30) - 1;
    private static final Map<String, Config> CONFIGS = new ConcurrentHashMap<>();
    private static final String USERLIST = "\"" + Seeds.USER + "\" \"" + Seeds.PASSWORD + "\"\n";

    /**
     * A config (loaded once per distinct text) with database {@code app} on the scripted server,
     * pool_size 1 and the server password {@link Seeds#PASSWORD}, and alice in auth_file with
     * that password; {@code settings} are more [pgbouncer] lines (auth_type, pool_mode...).
     */
    public static Config config(String... settings) {
        String ini = String.join("\n", List.of("[databases]",
                "app = host=fake.invalid port=5432 dbname=app password=" + Seeds.PASSWORD + " pool_size=1",
                "[pgbouncer]", "auth_file = userlist.txt", "unix_socket_dir =", String.join("\n", settings), ""));
        return CONFIGS.computeIfAbsent(ini, text -> {
            try {
                Path dir = Files.createTempDirectory("sluice-fuzz");
                Files.writeString(dir.resolve("userlist.txt"), USERLIST);
                Path file = dir.resolve("pgbouncer.ini");
                Files.writeString(file, text);
                Config c = Config.load(file);
                Files.delete(file);
                Files.delete(dir.resolve("userlist.txt"));
                Files.delete(dir);
                return c;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    public final MeteredAllocator alloc = new MeteredAllocator();
    /** What escaped a handler: each as a line for the assertion. */
    public final List<String> escaped = new ArrayList<>();
    private final EmbeddedChannel loopOwner;
    private final PoolManager pools;
    private final SessionContext sessions;
    private final Backend backend;
    private final List<FakeServer> servers = new ArrayList<>();
    private final List<Client> clients = new ArrayList<>();
    private final LogCapture log = LogCapture.captureQuietly();

    public EmbeddedSluice(Config config, Backend backend) {
        this.backend = backend;
        AuthFile authFile;
        try {
            authFile = AuthFile.parse(USERLIST, "userlist.txt");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        // The loop every channel shares: that of a channel with no handlers, which lives as long as this.
        loopOwner = new EmbeddedChannel();
        pools = new PoolManager(config, authFile, List.of(loopOwner.eventLoop()), new Connector(), Metrics.NOOP);
        sessions = new SessionContext(config, authFile, pools);
    }

    /** One client connection: its channel, what it has read, what it could not send yet. */
    public final class Client {
        public final EmbeddedChannel channel;
        private final List<byte[]> received = new ArrayList<>();
        /** Reads not delivered: the client channel stopped reading (or closed) before them. */
        public int unread;

        private Client() {
            channel = new SharedLoopChannel(loopOwner.eventLoop(), alloc,
                    ch -> ch.pipeline().addLast(new StartupDecoder(), new ClientLogin(sessions)));
        }

        /** Sends {@code reads} one at a time, letting everything settle after each. */
        public Client send(List<byte[]> reads) {
            for (byte[] r : reads) {
                settle();
                if (!channel.isOpen() || !channel.config().isAutoRead()) {
                    unread++;
                    continue;
                }
                deliver(channel, r);
            }
            settle();
            return this;
        }

        /** What it has read from Sluice so far. */
        public ClientView view() {
            settle();
            return ClientView.of(received);
        }

        public boolean isOpen() {
            settle();
            return channel.isOpen();
        }

        /** The client goes away. */
        public void close() {
            guard("client close", channel::close);
            settle();
        }

        private boolean drain() {
            boolean any = false;
            for (Object o; (o = channel.readOutbound()) != null;) {
                ByteBuf b = (ByteBuf) o;
                received.add(ByteBufUtil.getBytes(b));
                b.release();
                any = true;
            }
            return any;
        }
    }

    /** A new client connection, accepted as Sluice's listener would. */
    public Client connect() {
        Client c = new Client();
        clients.add(c);
        settle();
        return c;
    }

    /** Server connections Sluice opened so far. */
    public int serverCount() {
        return servers.size();
    }

    /** Runs everything that can run: tasks, reads between the two sides, closes. */
    public void settle() {
        for (int round = 0; round < 100_000; round++) {
            if (!round()) {
                return;
            }
        }
        escaped.add("no quiescence after 100000 rounds: Sluice and the scripted server keep talking");
    }

    private boolean round() {
        boolean any = false;
        guard("tasks", loopOwner::runPendingTasks);
        for (Client c : clients) {
            guard("client tasks", c.channel::runPendingTasks);
            guard("client pipeline", c.channel::checkException);
            any |= c.drain();
        }
        for (FakeServer s : new ArrayList<>(servers)) {
            any |= s.round();
        }
        return any || loopOwner.hasPendingTasks();
    }

    /**
     * One read, as a socket transport delivers it: channelRead, then channelReadComplete even
     * when a handler closed the channel during the read (EmbeddedChannel's writeInbound skips it
     * then, and Sluice's flush of what it relayed in that read with it).
     */
    private void deliver(EmbeddedChannel ch, byte[] read) {
        guard("read", () -> {
            ch.pipeline().fireChannelRead(alloc.buffer(read.length).writeBytes(read));
            ch.pipeline().fireChannelReadComplete();
            ch.runPendingTasks();
            ch.checkException();
        });
    }

    private void guard(String what, Runnable r) {
        try {
            r.run();
        } catch (Throwable t) {
            escaped.add(what + ": " + t);
        }
    }

    @Override
    public void close() {
        try {
            for (Client c : clients) {
                guard("client close", c.channel::close);
            }
            settle();
            for (FakeServer s : servers) {
                guard("server close", s.channel::close);
            }
            settle();
            for (FakeServer s : servers) {
                guard("server finish", s.channel::finishAndReleaseAll);
            }
            for (Client c : clients) {
                c.drain();
                guard("client finish", c.channel::finishAndReleaseAll);
            }
            guard("loop finish", loopOwner::finishAndReleaseAll);
        } finally {
            log.close();
            escaped.addAll(log.escapedExceptions());
        }
    }

    /** Opens each server connection as an EmbeddedChannel on the shared loop. */
    private final class Connector implements ServerConnector {
        @Override
        public ChannelFuture connect(EventLoop loop, PoolConfig config, ServerConnection handler) {
            FakeServer s = new FakeServer(servers.size());
            servers.add(s);
            s.channel = new SharedLoopChannel(loop, alloc, ch -> ch.pipeline().addLast(handler));
            return s.channel.newSucceededFuture();
        }

        @Override
        public void cancel(ServerConnection server, Consumer<CancelOutcome> done) {
            done.accept(CancelOutcome.NOT_SENT);
        }
    }

    /** The scripted PostgreSQL's end of one server connection. */
    private final class FakeServer {
        final int index;
        EmbeddedChannel channel;
        final ByteArrayOutputStream fromSluice = new ByteArrayOutputStream();
        int parsed;
        boolean started;
        boolean closeWhenSent;
        boolean done;
        final ArrayDeque<byte[]> toSend = new ArrayDeque<>();

        FakeServer(int index) {
            this.index = index;
        }

        boolean round() {
            boolean any = false;
            guard("server tasks", channel::runPendingTasks);
            guard("server pipeline", channel::checkException);
            for (Object o; (o = channel.readOutbound()) != null;) {
                ByteBuf b = (ByteBuf) o;
                fromSluice.writeBytes(ByteBufUtil.getBytes(b));
                b.release();
                any = true;
            }
            if (!done) {
                answer();
            }
            if (channel.isOpen()) {
                if (!toSend.isEmpty() && channel.config().isAutoRead()) {
                    byte[] r = toSend.poll();
                    deliver(channel, r);
                    any = true;
                } else if (toSend.isEmpty() && closeWhenSent) {
                    closeWhenSent = false;
                    guard("server close", channel::close);
                    any = true;
                }
            }
            return any;
        }

        /** Answers each whole message Sluice has sent. */
        private void answer() {
            byte[] d = fromSluice.toByteArray();
            while (!done) {
                int left = d.length - parsed;
                if (!started) {
                    if (left < 4 || left < ByteBuffer.wrap(d, parsed, 4).getInt()) {
                        return;
                    }
                    int len = ByteBuffer.wrap(d, parsed, 4).getInt();
                    Map<String, String> params = startupParameters(Arrays.copyOfRange(d, parsed + 8, parsed + len));
                    parsed += len;
                    started = true;
                    queue(backend.login(index, params));
                    continue;
                }
                if (left < 5) {
                    return;
                }
                int len = ByteBuffer.wrap(d, parsed + 1, 4).getInt();
                if (len < 4 || len > MAX_MESSAGE) {
                    // PostgreSQL's limit too (PQ_LARGE_MESSAGE_LIMIT): it ends the connection.
                    queue(Reply.closing(Seeds.error("FATAL", "08P01", "invalid message length")));
                    return;
                }
                if (left < 1 + len) {
                    return;
                }
                byte type = d[parsed];
                byte[] body = Arrays.copyOfRange(d, parsed + 5, parsed + 1 + len);
                parsed += 1 + len;
                queue(backend.message(index, type, body));
            }
        }

        private void queue(Reply r) {
            toSend.addAll(r.reads());
            if (r.close()) {
                closeWhenSent = true;
                done = true;
            }
        }
    }

    private static Map<String, String> startupParameters(byte[] body) {
        Map<String, String> p = new LinkedHashMap<>();
        String[] s = new String(body, StandardCharsets.UTF_8).split("\0");
        for (int i = 0; i + 1 < s.length; i += 2) {
            p.put(s[i], s[i + 1]);
        }
        return p;
    }

    /**
     * An EmbeddedChannel on another channel's event loop: Sluice asserts that a client and its
     * server share one. Registered only once the loop is set, so that handlers never see its own.
     */
    private static final class SharedLoopChannel extends EmbeddedChannel {
        private final EventLoop loop;

        SharedLoopChannel(EventLoop loop, MeteredAllocator alloc, Consumer<EmbeddedChannel> init) {
            super(EmbeddedChannel.builder().register(false));
            this.loop = loop;
            config().setAllocator(alloc);
            init.accept(this);
            try {
                register();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public EventLoop eventLoop() {
            return loop != null ? loop : super.eventLoop();
        }
    }
}
