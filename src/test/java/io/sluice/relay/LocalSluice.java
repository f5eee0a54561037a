package io.sluice.relay;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.local.LocalServerChannel;
import io.sluice.config.Config;
import io.sluice.metrics.Metrics;
import io.sluice.pool.PoolManager;
import io.sluice.pool.ClientState;
import io.sluice.pool.PoolShard;
import io.sluice.pool.ServerState;
import io.sluice.protocol.StartupDecoder;
import io.sluice.session.ClientLogin;
import io.sluice.session.SessionContext;
import io.sluice.testing.LogCapture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Sluice's pools and client sessions, with no sockets: clients connect over LocalChannel to a
 * listener built like Sluice's, and its server connections go over LocalChannel to a
 * {@link FakePostgres}, through {@link LocalConnector}.
 *
 * <p>Two event loops. Sluice's channels, a client's and its server connection, share the one
 * Sluice loop, as Sluice requires. The fake client and fake server sit on a second loop: a
 * LocalChannel write to a peer on the same loop is read by that peer at once, inside the
 * write, which no socket does, and Sluice would then see its own writes answered re-entrantly,
 * in the middle of its read (a path that never happens over TCP; tried: ClientSession's
 * channelReadComplete then finds its server released under it, a NullPointerException). Across
 * loops, each side's writes arrive as a task on the other's loop, as reads from a socket do.
 */
final class LocalSluice implements AutoCloseable {
    private static final AtomicInteger NAMES = new AtomicInteger();
    static final String USER = "alice";

    /** A test case run against a fresh Sluice with the client's bytes cut one way. */
    @FunctionalInterface
    interface Case {
        void run(LocalSluice s, FakeClient.Split split) throws Exception;
    }

    /**
     * Runs {@code test} once per {@link FakeClient.Split}, each time against a fresh Sluice and
     * fake server started with {@code settings}; a failure names the split.
     */
    static void eachSplit(Path dir, Case test, String... settings) throws Exception {
        for (FakeClient.Split split : FakeClient.Split.values()) {
            try (LocalSluice s = start(dir, settings)) {
                test.run(s, split);
            } catch (AssertionError e) {
                throw new AssertionError("with the client's bytes sent " + split + ": " + e.getMessage(), e);
            }
        }
    }

    /** Sluice's one loop: its client connections and their server connections. */
    final EventLoopGroup sluiceLoop = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
    /** The fake client's and fake server's loop. */
    final EventLoopGroup peers = new MultiThreadIoEventLoopGroup(1, LocalIoHandler.newFactory());
    final FakePostgres postgres;
    final PoolManager pools;
    final SessionContext sessions;
    private final LocalAddress address;
    private final Channel listener;
    private final List<FakeClient> clients = new CopyOnWriteArrayList<>();
    private final LogCapture log = LogCapture.capture();

    /**
     * A Sluice whose [databases] has "tx" (transaction mode), "sess" (session mode) and "stmt"
     * (statement mode), each with pool_size = 1, auth_type trust; {@code settings} are more
     * [pgbouncer] lines.
     */
    static LocalSluice start(Path dir, String... settings) throws Exception {
        List<String> ini = new ArrayList<>(List.of(
                "[databases]",
                // Any host: LocalConnector goes to the fake whatever the pool names.
                "tx = host=fake.invalid port=5432 dbname=app pool_mode=transaction pool_size=1",
                "sess = host=fake.invalid port=5432 dbname=app pool_mode=session pool_size=1",
                "stmt = host=fake.invalid port=5432 dbname=app pool_mode=statement pool_size=1",
                "[pgbouncer]",
                "auth_type = trust",
                "unix_socket_dir ="));
        ini.addAll(List.of(settings));
        ini.add("");
        Path file = dir.resolve("pgbouncer.ini");
        Files.writeString(file, String.join("\n", ini));
        return new LocalSluice(Config.load(file));
    }

    private LocalSluice(Config config) throws InterruptedException {
        int n = NAMES.incrementAndGet();
        postgres = new FakePostgres(peers, "fake-postgres-" + n);
        EventLoop loop = sluiceLoop.next();
        pools = new PoolManager(config, null, List.of(loop), new LocalConnector(postgres.address), Metrics.NOOP);
        sessions = new SessionContext(config, null, pools);
        address = new LocalAddress("sluice-" + n);
        listener = new ServerBootstrap().group(sluiceLoop).channel(LocalServerChannel.class)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        clientPipeline(ch, sessions);
                    }
                })
                .bind(address).sync().channel();
    }

    /**
     * A client connection's pipeline, as Sluice's clientInitializer builds it (less its
     * bookkeeping of connections and loop load). The one place to change when that changes.
     */
    static void clientPipeline(Channel ch, SessionContext ctx) {
        ch.pipeline().addLast(new StartupDecoder(), new ClientLogin(ctx));
    }

    /** A connected client that has sent nothing yet. */
    FakeClient connect(FakeClient.Split split) {
        FakeClient[] made = new FakeClient[1];
        Channel ch = new Bootstrap().group(peers).channel(LocalChannel.class)
                .handler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel c) {
                        made[0] = FakeClient.attach(c, split);
                    }
                })
                .connect(address).syncUninterruptibly().channel();
        assertThat(ch.isActive()).isTrue();
        clients.add(made[0]);
        return made[0];
    }

    /** A client logged in to {@code database} as {@link #USER}; asserts the welcome. */
    FakeClient login(String database, FakeClient.Split split, String... parameters) {
        FakeClient c = connect(split);
        List<String> welcome = c.login(USER, database, parameters);
        assertThat(welcome).as("welcome").startsWith("R:0").contains("S:server_version=16.4", "S:client_encoding=UTF8")
                .endsWith("K", "Z:I");
        return c;
    }

    /** Runs {@code task} on Sluice's loop (pool state is touched only there) and returns its result. */
    <T> T onLoop(Callable<T> task) {
        try {
            return sluiceLoop.next().submit(task).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /**
     * The pool of {@code database} on Sluice's loop, as SHOW POOLS would put it:
     * "login L idle I active A reset R waiting W". Read on the loop, after everything queued there.
     */
    String pool(String database) {
        return onLoop(() -> {
            PoolShard s = pools.pool(database, USER).orElseThrow().shard(0);
            return "login " + s.serverCount(ServerState.LOGIN) + " idle " + s.serverCount(ServerState.IDLE)
                    + " active " + s.serverCount(ServerState.ACTIVE) + " reset " + s.serverCount(ServerState.RESET)
                    + " waiting " + s.clientCount(ClientState.WAITING);
        });
    }

    /**
     * Runs Sluice's loop until the pool of {@code database} reads {@code expected} (at most
     * {@link FakeClient#WAIT_SECONDS}): a connection's close reaches its handler a task after
     * the close itself, so one round trip on the loop may come too early.
     */
    void awaitPool(String database, String expected) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(FakeClient.WAIT_SECONDS);
        String now;
        while (!(now = pool(database)).equals(expected)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("pool " + database + " stays \"" + now + "\", not \"" + expected + "\"");
            }
        }
    }

    /** What {@link #inOneTurn} runs. */
    @FunctionalInterface
    interface Queuing {
        void run() throws Exception;
    }

    /**
     * Runs {@code queuing} while Sluice's loop is held, then lets it go: whatever it sent to
     * Sluice (a client's bytes, a server's close) is handled in one turn of the loop, in the
     * order sent, as reads that are ready together on a socket loop are. No sleeps: the loop
     * waits on a latch.
     */
    void inOneTurn(Queuing queuing) throws Exception {
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        sluiceLoop.next().execute(() -> {
            held.countDown();
            try {
                release.await(FakeClient.WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(held.await(FakeClient.WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();
        try {
            queuing.run();
        } finally {
            release.countDown();
        }
    }

    /** Exceptions that escaped a handler, or were logged with a stack trace, while this ran. */
    List<String> escapedExceptions() {
        return log.escapedExceptions();
    }

    @Override
    public void close() {
        try {
            for (FakeClient c : clients) {
                c.channel.close().syncUninterruptibly();
            }
            listener.close().syncUninterruptibly();
            postgres.close();
            // Let both loops run what the closes queued (the other side's close, releases):
            // Sluice's loop must not be shut down with channels open (closing them then fails).
            onLoop(() -> null);
            peers.next().submit(() -> null).syncUninterruptibly();
            onLoop(() -> null);
        } finally {
            sluiceLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            peers.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            log.close();
        }
        assertThat(log.escapedExceptions()).as("exceptions that escaped Sluice's handlers").isEmpty();
    }
}
