package io.sluice.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import io.sluice.auth.AuthFile;
import io.sluice.auth.AuthFileException;
import io.sluice.config.Config;
import io.sluice.auth.HbaFile;
import io.sluice.tls.ClientTls;
import io.sluice.tls.Tls;
import io.sluice.config.ConfigDiff;
import io.sluice.config.ConfigException;
import io.sluice.config.Settings;
import io.sluice.admin.Console;
import io.sluice.admin.Operator;
import io.sluice.metrics.Counters;
import io.sluice.metrics.StatsWindow;
import io.sluice.pool.PoolManager;
import io.sluice.pool.PoolShard;
import io.sluice.protocol.StartupDecoder;
import io.sluice.session.ClientLogin;
import io.sluice.session.DirectTls;
import io.sluice.session.SessionContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running pooler: loads the config and auth_file, starts the event loops, binds the TCP
 * and Unix-socket listeners, runs upkeep, and shuts it all down.
 */
public final class Sluice implements AutoCloseable, Operator, Console.Settable {
    private static final Logger log = LoggerFactory.getLogger(Sluice.class);

    /** The running config: replaced whole by {@link #reload}. */
    private volatile Config config;
    private final Transport transport;
    private final EventLoopGroup group;
    private final List<Channel> listeners = new ArrayList<>();
    /** Every client and server connection, so that shutting down closes them all first. */
    private final ChannelGroup connections = new DefaultChannelGroup("sluice-connections", GlobalEventExecutor.INSTANCE);
    private final PoolManager pools;
    /** Totals per pool, for the admin console. */
    private final Counters metrics = new Counters();
    private final StatsWindow statsWindow = new StatsWindow(System.nanoTime());
    private final Console console;
    /** Null while running; the mode of the shutdown under way. */
    private volatile Operator.Shutdown shutdownMode;
    private final java.util.concurrent.atomic.AtomicBoolean exited = new java.util.concurrent.atomic.AtomicBoolean();
    /** Run once when a shutdown is complete (Main ends the process); closing is the caller's part. */
    private volatile Runnable onExit = () -> { };
    /** Run after each successful reload (Main reopens the logfile, for logrotate). */
    private volatile Runnable onReload = () -> { };
    private final SessionContext sessions;
    private Path pidfile;
    private Path unixSocket;

    private final PackingChooser chooser;
    /*
     * The once-a-second upkeep is started from this thread rather than scheduled on the event
     * loops, so that a loop with nothing scheduled waits for I/O without a timeout (see
     * Transport.UntimedLoop): one wake-up a second instead of a timer on every wait.
     */
    private final ScheduledExecutorService upkeepTicker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sluice-upkeep");
        t.setDaemon(true);
        return t;
    });

    /** Clients per event loop that the first loops take before the next one gets any (see {@link PackingChooser}). */
    public static final int DEFAULT_PACK_CLIENTS = 32;
    /**
     * --pack-cpu's default: 0, clients placed by count only. With P > 0 a loop that has its
     * {@link #DEFAULT_PACK_CLIENTS} keeps taking clients while it uses less than P% of a core
     * (see {@link PackingChooser}): less CPU per transaction, but on a machine whose cores are
     * oversubscribed (the benchmark's) one loop gets less of them than two and serves fewer
     * short transactions (docs/benchmarks.md), so it is a choice, not the default.
     */
    public static final int DEFAULT_PACK_CPU = 0;

    private Sluice(Config config, AuthFile authFile, int threads, int packClients, int packCpu, String transportName) {
        this.config = config;
        this.transport = Transport.choose(transportName);
        this.chooser = new PackingChooser(packClients, packCpu);
        this.group = transport.newGroup(threads, chooser);
        List<EventLoop> loops = new ArrayList<>();
        for (EventExecutor e : group) {
            loops.add((EventLoop) e);
        }
        NettyServerConnector connector = new NettyServerConnector(transport, connections,
                config.settings().durationValue("cancel_wait_timeout"));
        this.pools = new PoolManager(config, authFile, loops, connector, metrics);
        this.sessions = new SessionContext(config, authFile, pools);
        this.console = new Console(this, pools, metrics, statsWindow);
        sessions.console(console);
    }

    /** The socket transport in use: io_uring, epoll or nio. */
    public String transportName() {
        return transport.name();
    }

    /**
     * Starts listening with a loaded config: {@code threads} event loops; {@code packClients},
     * how many clients a loop takes before the next loop gets any (1 spreads them evenly);
     * {@code packCpu}, the CPU use in percent of a core below which a loop keeps taking
     * clients past {@code packClients} (0: by count only); {@code transport}, the socket
     * transport named, auto, io_uring, epoll or nio (one this system lacks falls back:
     * io_uring, epoll, nio).
     */
    public static Sluice start(Config config, int threads, int packClients, int packCpu, String transport)
            throws ConfigException, IOException, InterruptedException, StartException {
        for (String w : config.warnings()) {
            log.warn(w);
        }
        AuthFile authFile = loadAuthFile(config);
        Tls tls = Tls.load(config);
        HbaFile hba = loadHba(config);
        log.info("TLS: client_tls_sslmode {}, server_tls_sslmode {} ({})", tls.clients().mode().configName(),
                tls.servers().mode().configName(), Tls.engine());
        Sluice sluice = new Sluice(config, authFile, threads, packClients, packCpu, transport);
        sluice.sessions.clientTls(tls.clients());
        sluice.sessions.hba(hba);
        sluice.pools.serverTls(tls.servers());
        try {
            sluice.bind();
        } catch (IOException | RuntimeException | InterruptedException | StartException e) {
            sluice.close();
            throw e;
        }
        return sluice;
    }

    private void bind() throws IOException, InterruptedException, StartException {
        Settings s = config.settings();
        // The pidfile checked first, as PgBouncer does: a second instance stops before it takes
        // anything. Written once the listeners are up: -d returns when it appears, and a script
        // that connects right after must find Sluice listening.
        if (s.pidfile() != null) {
            long other = runningPid(s.pidfile());
            if (other > 0) {
                throw new StartException("pidfile " + s.pidfile() + " holds pid " + other + " of a running process:"
                        + " another instance is running");
            }
        }

        String why = transport.fallbackReason();
        log.info("transport {} with {} event loops{}", transport.name(), listenersCount(),
                why == null ? "" : " (" + why + ")");
        ServerBootstrap tcp = new ServerBootstrap().group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 128)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .handler(listenerInitializer())
                .childHandler(clientInitializer());
        transport.clientOptions(tcp);
        transport.listenOptions(tcp, s.intValue("tcp_defer_accept"));
        for (String addr : s.listenAddr()) {
            SocketAddress sa = addr.equals("*") ? new InetSocketAddress(s.listenPort())
                    : new InetSocketAddress(addr, s.listenPort());
            Channel ch;
            try {
                ch = tcp.bind(sa).sync().channel();
            } catch (Exception e) {
                // One line naming what could not be had, not a stack trace.
                throw new StartException("could not listen on " + addr + ":" + s.listenPort() + ": " + bindReason(e));
            }
            chooser.untrack(ch);
            listeners.add(ch);
            log.info("listening on {}", ch.localAddress());
        }
        if (!s.unixSocketDir().isEmpty()) {
            Path dir = Path.of(s.unixSocketDir());
            Path socket = dir.resolve(".s.PGSQL." + s.listenPort());
            if (Files.exists(socket) && socketAnswers(socket)) {
                throw new StartException("unix socket " + socket + " is in use: another Sluice or PgBouncer"
                        + " is running on port " + s.listenPort());
            }
            // Left behind by a process that is gone: nothing listens on it.
            Files.deleteIfExists(socket);
            unixSocket = socket;
            ServerBootstrap unix = new ServerBootstrap().group(group)
                    .channel(transport.serverDomainChannel())
                    .handler(listenerInitializer())
                    .childHandler(clientInitializer());
            transport.clientOptions(unix);
            Channel ch = unix.bind(transport.unixAddress(unixSocket.toString())).sync().channel();
            chooser.untrack(ch);
            listeners.add(ch);
            setMode(unixSocket, s.unixSocketMode());
            log.info("listening on unix:{}", unixSocket);
        }
        if (s.pidfile() != null) {
            pidfile = s.pidfile();
            Files.writeString(pidfile, ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);
        }
        pools.createForcedUserPools();
        upkeepTicker.scheduleAtFixedRate(() -> {
            for (EventExecutor e : group) {
                EventLoop loop = (EventLoop) e;
                try {
                    loop.execute(() -> upkeep(loop));
                } catch (RejectedExecutionException stopping) {
                    // The loops are shutting down; close() stops this ticker next. An exception
                    // escaping here would cancel every later tick, so none may.
                }
            }
        }, 1, 1, TimeUnit.SECONDS);
        if (chooser.placesByLoad()) {
            scheduleLoadSampling();
        }
        long period = Math.max(1, config.settings().intValue("stats_period"));
        upkeepTicker.scheduleAtFixedRate(this::statsTick, period, period, TimeUnit.SECONDS);
    }

    /** Every stats_period: the averages move on, and PgBouncer's "stats:" line is logged (log_stats). */
    private void statsTick() {
        try {
            StatsWindow.Averages a = statsWindow.tick(System.nanoTime(), metrics.byDatabase());
            if (config.settings().booleanValue("log_stats")) {
                log.info(a.logLine());
            }
        } catch (RuntimeException e) {
            log.warn("stats: {}", e.toString());
        }
    }

    private static String bindReason(Exception e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        String m = t.getMessage() == null ? t.toString() : t.getMessage();
        return m.toLowerCase(java.util.Locale.ROOT).contains("address already in use") ? "address already in use" : m;
    }

    /** True when something accepts connections on the Unix socket {@code path}. */
    private static boolean socketAnswers(Path path) {
        try (java.nio.channels.SocketChannel ch = java.nio.channels.SocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            return ch.connect(java.net.UnixDomainSocketAddress.of(path));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    /** The pid in {@code pidfile} when that process is alive (and not this one), else 0. */
    private static long runningPid(Path pidfile) {
        try {
            String text = Files.readString(pidfile, StandardCharsets.US_ASCII).strip();
            long pid = Long.parseLong(text);
            if (pid != ProcessHandle.current().pid() && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                return pid;
            }
        } catch (IOException | NumberFormatException e) {
            // No pidfile, or not one of ours: free to take.
        }
        return 0;
    }

    private void scheduleLoadSampling() {
        upkeepTicker.scheduleAtFixedRate(() -> {
            try {
                chooser.sample();
            } catch (RuntimeException e) {
                // As above: an exception escaping would end the sampling for good.
                log.warn("measuring event loop load: {}", e.toString());
            }
        }, PackingChooser.SAMPLE_MILLIS, PackingChooser.SAMPLE_MILLIS, TimeUnit.MILLISECONDS);
    }

    private int listenersCount() {
        int n = 0;
        for (EventExecutor ignored : group) {
            n++;
        }
        return n;
    }

    private void upkeep(EventLoop loop) {
        for (PoolShard shard : pools.shardsOn(loop)) {
            try {
                shard.upkeep();
            } catch (RuntimeException e) {
                log.error("upkeep of {} failed", shard.pool(), e);
            }
        }
    }

    /** A listener's own pipeline: its failed accepts pause it ({@link AcceptErrors}). */
    private static ChannelInitializer<Channel> listenerInitializer() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new AcceptErrors());
            }
        };
    }

    private ChannelInitializer<Channel> clientInitializer() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                connections.add(ch);
                chooser.track(ch);
                if (ch.localAddress() instanceof InetSocketAddress) {
                    // The running config's: a RELOAD applies to connections accepted after it.
                    transport.tcpOptions(config.settings().tcp()).forEach((k, v) -> setOption(ch, k, v));
                }
                ClientTls tls = sessions.clientTls();
                if (tls.accepts() && ch.remoteAddress() instanceof InetSocketAddress) {
                    ch.pipeline().addLast(new DirectTls(tls));
                }
                ch.pipeline().addLast(new StartupDecoder(), new ClientLogin(sessions));
            }
        };
    }

    @SuppressWarnings("unchecked")
    private static void setOption(Channel ch, ChannelOption<?> option, Object value) {
        ch.config().setOption((ChannelOption<Object>) option, value);
    }

    private static void setMode(Path socket, int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        for (int i = 0; i < order.length; i++) {
            if ((mode & (1 << i)) != 0) {
                perms.add(order[i]);
            }
        }
        try {
            Files.setPosixFilePermissions(socket, perms);
        } catch (IOException | UnsupportedOperationException e) {
            log.warn("cannot set mode of {}: {}", socket, e.toString());
        }
    }

    /** The TCP port actually bound (listen_port = 0 picks a free one, for tests). */
    public int port() {
        for (Channel ch : listeners) {
            if (ch.localAddress() instanceof InetSocketAddress a) {
                return a.getPort();
            }
        }
        return -1;
    }

    public Config config() {
        return config;
    }

    // ---- Operator: what the console and the signals ask of the process ----

    /** What runs once a shutdown is complete (the process then ends). */
    public void onExit(Runnable r) {
        onExit = r;
    }

    /** What runs after each successful reload. */
    public void onReload(Runnable r) {
        onReload = r;
    }

    @Override
    public int clientConnections() {
        return sessions.clients().get();
    }

    @Override
    public int listenPort() {
        return config.settings().listenPort();
    }

    @Override
    public boolean shuttingDown() {
        return shutdownMode != null;
    }

    /**
     * SHUTDOWN, SIGINT, SIGTERM: IMMEDIATE ends now; the waiting modes stop taking TCP
     * connections (the Unix socket stays for the console), refuse new logins except to the
     * console, and end once no server (WAIT_FOR_SERVERS: PAUSE, with waiting clients told
     * "server shutting down") or no client (WAIT_FOR_CLIENTS) is left.
     */
    @Override
    public synchronized void shutdown(Operator.Shutdown mode) {
        if (mode == Operator.Shutdown.IMMEDIATE) {
            exit();
            return;
        }
        boolean first = shutdownMode == null;
        shutdownMode = mode;
        sessions.shuttingDown();
        if (first) {
            for (Channel ch : listeners) {
                if (ch.localAddress() instanceof InetSocketAddress) {
                    ch.close();
                }
            }
            upkeepTicker.scheduleAtFixedRate(this::shutdownCheck, 333, 333, TimeUnit.MILLISECONDS);
        }
        if (mode == Operator.Shutdown.WAIT_FOR_SERVERS) {
            pools.pause(null);
            pools.forEachShard(shard -> shard.forEachClient(io.sluice.pool.ClientState.WAITING,
                    n -> n.client().disconnect(io.sluice.protocol.SqlState.PROTOCOL_VIOLATION, "server shutting down")),
                    Runnable::run, () -> { });
        }
    }

    private void shutdownCheck() {
        try {
            Operator.Shutdown mode = shutdownMode;
            if (mode == Operator.Shutdown.WAIT_FOR_SERVERS && totalServers() == 0) {
                log.info("server connections dropped, exiting");
                exit();
            } else if (mode == Operator.Shutdown.WAIT_FOR_CLIENTS && sessions.clients().get() == 0) {
                log.info("client connections dropped, exiting");
                exit();
            }
        } catch (RuntimeException e) {
            log.warn("shutdown check: {}", e.toString());
        }
    }

    private int totalServers() {
        int n = 0;
        for (io.sluice.pool.Pool p : pools.pools()) {
            n += p.serverCount();
        }
        return n;
    }

    /** Ends the process's work once: closing happens on a thread of its own, never on a loop. */
    private void exit() {
        if (exited.compareAndSet(false, true)) {
            Thread t = new Thread(() -> onExit.run(), "sluice-exit");
            t.start();
        }
    }

    /** SIGUSR1: PAUSE of everything, with no console waiting for it. */
    public void pauseAll() {
        if (pools.pausedAll()) {
            log.info("got SIGUSR1, but already paused/suspended");
            return;
        }
        pools.pause(null);
    }

    /** SIGUSR2: RESUME. */
    public void resumeAll() {
        if (shuttingDown()) {
            log.info("got SIGUSR2 while shutting down, ignoring");
        } else if (!pools.pausedAll()) {
            log.info("got SIGUSR2, but not paused/suspended");
        } else {
            pools.resume(null);
        }
    }

    @Override
    public synchronized String set(String key, String value) {
        Config changed;
        try {
            changed = config.withSetting(key, value);
        } catch (ConfigException e) {
            return e.getMessage();
        }
        if (changed != config) {
            Tls tls;
            HbaFile hba;
            try {
                tls = Tls.load(changed);
                hba = loadHba(changed);
            } catch (ConfigException e) {
                return e.getMessage();
            }
            apply(changed, sessions.authFile(), tls, hba);
        }
        return null;
    }

    /**
     * RELOAD: reads the config file and auth_file again and applies what changed, each pool's
     * part on its own loops. If either fails to load, the running config is kept whole and the
     * reason, with file and line, is returned (and logged); null on success.
     */
    @Override
    public synchronized String reload() {
        Config running = config;
        Config loaded;
        AuthFile authFile;
        Tls tls;
        HbaFile hba;
        try {
            loaded = Config.reload(running.path(), running);
            authFile = loadAuthFile(loaded);
            tls = Tls.load(loaded);
            hba = loadHba(loaded);
        } catch (ConfigException e) {
            log.error("RELOAD failed, configuration unchanged: {}", e.getMessage());
            return e.getMessage();
        }
        ConfigDiff diff = ConfigDiff.between(running, loaded);
        for (String w : loaded.warnings()) {
            if (!running.warnings().contains(w)) {
                log.warn(w);
            }
        }
        for (ConfigDiff.SettingChange c : diff.settingChanges()) {
            log.info("RELOAD: {} changed from \"{}\" to \"{}\"", c.key(), c.oldValue(), c.newValue());
        }
        diff.databasesAdded().forEach(d -> log.info("RELOAD: database {} added", d.name()));
        diff.databasesRemoved().forEach(d -> log.info("RELOAD: database {} removed", d.name()));
        diff.databasesChanged().forEach(d -> log.info("RELOAD: {}", d));
        diff.usersAdded().forEach(u -> log.info("RELOAD: user {} added", u.name()));
        diff.usersRemoved().forEach(u -> log.info("RELOAD: user {} removed", u.name()));
        diff.usersChanged().forEach(u -> log.info("RELOAD: user {} changed: {}", u.name(), u.changedKeys()));
        apply(loaded, authFile, tls, hba);
        onReload.run();
        return null;
    }

    private void apply(Config loaded, AuthFile authFile, Tls tls, HbaFile hba) {
        config = loaded;
        sessions.reconfigure(loaded, authFile);
        sessions.hba(hba);
        // Clients accepted from now on get the new TLS; those already encrypted keep theirs.
        sessions.clientTls(tls.clients());
        // Servers logged in under other TLS settings are replaced as they come free (a changed
        // ServerTls makes sameServerLogin false), as PgBouncer tags its pools dirty.
        pools.reconfigure(loaded, authFile, tls.servers());
    }

    /**
     * auth_hba_file, for auth_type hba; null for other auth types. A line Sluice cannot use stops
     * start-up (or fails the RELOAD): PgBouncer skips it with a warning and applies the rules
     * after it, so a mistyped reject could let in whom a later rule trusts.
     */
    private static HbaFile loadHba(Config config) throws ConfigException {
        Settings s = config.settings();
        if (s.authType() != io.sluice.config.AuthType.HBA) {
            return null;
        }
        Path file = s.path("auth_hba_file");
        HbaFile hba;
        try {
            hba = HbaFile.load(file);
        } catch (IOException e) {
            throw new ConfigException(config.path(), 0, "auth_hba_file", "cannot read " + file + ": " + e.getMessage());
        }
        if (!hba.warnings().isEmpty()) {
            throw new ConfigException(config.path(), 0, "auth_hba_file", hba.warnings().get(0)
                    + (hba.warnings().size() > 1 ? " (and " + (hba.warnings().size() - 1) + " more)" : ""));
        }
        for (HbaFile.Rule r : hba.rules()) {
            if (r.method() == HbaFile.Method.LDAP) {
                throw new ConfigException(config.path(), 0, "auth_hba_file", r.file() + ":" + r.line()
                        + ": ldap is not supported by Sluice");
            }
        }
        return hba;
    }

    /** The auth_file a config names, loaded; null when it names none. */
    private static AuthFile loadAuthFile(Config config) throws ConfigException {
        Settings s = config.settings();
        if (s.authFile() == null) {
            return null;
        }
        try {
            return AuthFile.load(s.authFile());
        } catch (AuthFileException e) {
            throw new ConfigException(config.path(), "auth_file: " + e.getMessage());
        } catch (IOException e) {
            throw new ConfigException(config.path(), "auth_file: cannot read " + s.authFile() + ": " + e);
        }
    }

    /** Client connections on each event loop now. */
    public int[] clientsPerLoop() {
        return chooser.clientsPerLoop();
    }

    /** Each event loop's recent CPU use, in thousandths of a core (0 when placing by count only). */
    public int[] loadPerLoop() {
        return chooser.loadPerLoop();
    }

    public Counters metrics() {
        return metrics;
    }

    public PoolManager pools() {
        return pools;
    }

    @Override
    public void close() {
        exited.set(true);
        upkeepTicker.shutdownNow();
        for (Channel ch : listeners) {
            ch.close().awaitUninterruptibly();
        }
        // Servers get Terminate-less closes here; PostgreSQL ends those backends at once.
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        try {
            if (unixSocket != null) {
                Files.deleteIfExists(unixSocket);
            }
            if (pidfile != null) {
                Files.deleteIfExists(pidfile);
            }
        } catch (IOException e) {
            log.warn("cleanup: {}", e.toString());
        }
        log.info("stopped");
    }
}
