package io.sluice.pool;

import io.netty.channel.EventLoop;
import io.sluice.auth.AuthFile;
import io.sluice.auth.Secret;
import io.sluice.config.Config;
import io.sluice.config.DatabaseConfig;
import io.sluice.config.PoolMode;
import io.sluice.config.Settings;
import io.sluice.config.UserConfig;
import io.sluice.metrics.Metrics;
import io.sluice.tls.ServerTls;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * All pools, created on first use from the config: one per (database, user), or one per
 * database when the database entry forces a user. Resolves PgBouncer's precedence of
 * settings (user entry, then database entry, then [pgbouncer]).
 */
public final class PoolManager {
    /** Replaced by {@link #reconfigure}; read by every loop. */
    private volatile Config config;
    private volatile AuthFile authFile;
    private final EventLoop[] loops;
    private final Map<EventLoop, Integer> loopIndex = new IdentityHashMap<>();
    private final ServerConnector connector;
    private final Metrics metrics;
    private final ConcurrentHashMap<String, Pool> pools = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LimitGroup> dbLimits = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, LimitGroup> userLimits = new ConcurrentHashMap<>();
    private final ClientLimits clientLimits = new ClientLimits();
    /** Secrets auth_query found, by database and user (see {@link #lookedUp}). */
    private final ConcurrentHashMap<String, Secret> lookedUpSecrets = new ConcurrentHashMap<>();
    /** TLS towards PostgreSQL: part of every pool's config, replaced by a reload. */
    private volatile ServerTls serverTls = ServerTls.disabled();

    public PoolManager(Config config, AuthFile authFile, List<EventLoop> loops, ServerConnector connector,
            Metrics metrics) {
        this.config = config;
        this.metrics = metrics;
        this.authFile = authFile;
        this.loops = loops.toArray(new EventLoop[0]);
        for (int i = 0; i < this.loops.length; i++) {
            loopIndex.put(this.loops[i], i);
        }
        this.connector = connector;
    }

    /** Sets TLS towards PostgreSQL before any pool exists (start-up). */
    public void serverTls(ServerTls tls) {
        this.serverTls = tls;
    }

    public int loopIndex(EventLoop loop) {
        Integer i = loopIndex.get(loop);
        if (i == null) {
            throw new IllegalArgumentException("not one of Sluice's event loops");
        }
        return i;
    }

    public Collection<Pool> pools() {
        return pools.values();
    }

    /** Creates the pools of databases that force a user, so min_pool_size is kept from start-up. */
    public void createForcedUserPools() {
        for (DatabaseConfig db : config.databases().values()) {
            if (db.user() != null) {
                pool(db.name(), db.user());
            }
        }
    }

    /**
     * The pool for a client of {@code database} logged in as {@code user}, or empty when the
     * config has no such database (and no {@code *} fallback).
     */
    public Optional<Pool> pool(String database, String user) {
        Optional<DatabaseConfig> db = config.database(database);
        if (db.isEmpty()) {
            return Optional.empty();
        }
        String serverUser = db.get().user() != null ? db.get().user() : user;
        String key = database + '\0' + serverUser;
        return Optional.of(pools.computeIfAbsent(key, k -> create(db.get(), serverUser)));
    }

    /** Keys of the auth pools in {@link #pools}: no client pool's key starts with a NUL. */
    private static final String AUTH_POOL = "\0auth\0";

    /**
     * The pool auth_query runs in for clients of {@code database}: {@code authUser} logged in to
     * {@code authDatabase}, with none of any client's start-up parameters and search_path fixed to
     * pg_catalog (then pg_temp), so that no object of a user's making can stand in for
     * pg_authid or a function the query calls. Empty when {@code authDatabase} is not configured.
     */
    public Optional<Pool> authPool(String authDatabase, String authUser) {
        Optional<DatabaseConfig> db = config.database(authDatabase);
        if (db.isEmpty()) {
            return Optional.empty();
        }
        String key = AUTH_POOL + authDatabase + '\0' + authUser;
        return Optional.of(pools.computeIfAbsent(key, k -> create(db.get(), authUser, true)));
    }

    /**
     * A secret auth_query found for {@code user} of {@code database}: kept for that pool's server
     * logins (it has no auth_file secret) and replaced by the next lookup, as PgBouncer keeps its
     * dynamic credentials. Servers already logged in stay.
     */
    public void lookedUp(String database, String user, Secret secret) {
        String key = database + '\0' + user;
        if (secret == null || secret.equals(lookedUpSecrets.get(key))) {
            return;
        }
        lookedUpSecrets.put(key, secret);
        Pool pool = pools.get(key);
        Optional<DatabaseConfig> db = config.database(database);
        if (pool != null && db.isPresent()) {
            pool.reconfigure(poolConfig(config, authFile, serverTls, db.get(), user, false), false);
        }
    }

    private Pool create(DatabaseConfig db, String user) {
        return create(db, user, false);
    }

    private Pool create(DatabaseConfig db, String user, boolean forAuthQuery) {
        PoolConfig pc = poolConfig(config, authFile, serverTls, db, user, forAuthQuery);
        Settings s = config.settings();
        Optional<UserConfig> uc = config.user(user);
        int maxDb = firstNonNull(db.maxDbConnections(), s.maxDbConnections());
        int maxUser = firstNonNull(uc.map(UserConfig::maxUserConnections).orElse(null), s.maxUserConnections());
        LimitGroup dbLimit = dbLimits.computeIfAbsent(db.name(), k -> new LimitGroup(maxDb));
        LimitGroup userLimit = userLimits.computeIfAbsent(user, k -> new LimitGroup(maxUser));
        Pool pool = new Pool(pc, loops, connector, dbLimit, userLimit, metrics.pool(db.name(), user));
        if (paused(db.name())) {
            pool.paused(true);
        }
        dbLimit.add(pool);
        userLimit.add(pool);
        return pool;
    }

    /**
     * Applies a reloaded config: each pool gets its new settings on its own loops (servers whose
     * connection target or login changed are replaced as they come free); the pools of a
     * database no longer configured are closed, clients and all, as PgBouncer does ("database
     * removed"); database and user limits take their new values.
     */
    public void reconfigure(Config loaded, AuthFile loadedAuth) {
        reconfigure(loaded, loadedAuth, serverTls);
    }

    /** The same, with TLS towards PostgreSQL built from {@code loaded} (see {@link io.sluice.tls.Tls}). */
    public void reconfigure(Config loaded, AuthFile loadedAuth, ServerTls loadedTls) {
        this.config = loaded;
        this.serverTls = loadedTls;
        this.authFile = loadedAuth;
        for (Map.Entry<String, Pool> e : pools.entrySet()) {
            Pool pool = e.getValue();
            PoolConfig old = pool.config();
            Optional<DatabaseConfig> db = loaded.database(old.database());
            if (db.isEmpty()) {
                pools.remove(e.getKey(), pool);
                pool.kill("database removed");
                continue;
            }
            PoolConfig pc = poolConfig(loaded, loadedAuth, loadedTls, db.get(), old.serverUser(),
                    e.getKey().startsWith(AUTH_POOL));
            pool.reconfigure(pc, !pc.sameServerLogin(old));
        }
        Settings s = loaded.settings();
        dbLimits.forEach((name, g) -> g.max(loaded.database(name)
                .map(d -> firstNonNull(d.maxDbConnections(), s.maxDbConnections())).orElse(s.maxDbConnections())));
        userLimits.forEach((name, g) -> g.max(firstNonNull(
                loaded.user(name).map(UserConfig::maxUserConnections).orElse(null), s.maxUserConnections())));
        createForcedUserPools();
    }

    /** A pool's settings, resolved from {@code config} in PgBouncer's order of precedence. */
    private PoolConfig poolConfig(Config config, AuthFile authFile, ServerTls tls, DatabaseConfig db,
            String user, boolean forAuthQuery) {
        Settings s = config.settings();
        Optional<UserConfig> uc = config.user(user);
        PoolMode mode = uc.map(UserConfig::poolMode).orElse(null);
        if (mode == null) {
            mode = db.poolMode() != null ? db.poolMode() : s.poolMode();
        }
        int poolSize = firstNonNull(uc.map(UserConfig::poolSize).orElse(null), db.poolSize(), s.defaultPoolSize());
        int reserve = firstNonNull(uc.map(UserConfig::reservePoolSize).orElse(null), db.reservePoolSize(),
                s.reservePoolSize());
        int minPool = firstNonNull(db.minPoolSize(), s.minPoolSize());

        Secret secret;
        if (db.password() != null && (!forAuthQuery || user.equals(db.user()))) {
            secret = new Secret.Plain(db.password());
        } else {
            secret = authFile == null ? null : authFile.secret(user).orElse(null);
        }
        if (secret == null && !forAuthQuery) {
            secret = lookedUpSecrets.get(db.name() + '\0' + user);
        }
        Map<String, String> startup = new LinkedHashMap<>();
        if (forAuthQuery) {
            startup.put("options", "-c search_path=pg_catalog,pg_temp");
            mode = PoolMode.TRANSACTION;
            minPool = 0;
        }
        putIfSet(startup, "application_name", db.applicationName());
        putIfSet(startup, "client_encoding", db.clientEncoding());
        putIfSet(startup, "datestyle", db.dateStyle());
        putIfSet(startup, "timezone", db.timeZone());
        String host = db.hosts().isEmpty() ? null : db.hosts().get(0);
        if (host == null || host.isEmpty()) {
            // PgBouncer's default: the Unix socket in /tmp would be libpq's; use loopback TCP.
            host = "127.0.0.1";
        }
        PoolConfig pc = new PoolConfig(db.name(), user, user, secret, db.effectiveDbname(), host, db.port(),
                startup, mode, poolSize, minPool, reserve, s.reservePoolTimeout(), db.connectQuery(),
                s.serverResetQuery() == null ? "" : s.serverResetQuery(), s.serverResetQueryAlways(),
                s.serverLoginRetry(), s.serverConnectTimeout(), timeout(s, uc, "query_wait_timeout"),
                s.serverIdleTimeout(), db.serverLifetime() != null ? db.serverLifetime() : s.serverLifetime(),
                s.maxPreparedStatements(), timeout(s, uc, "query_timeout"),
                timeout(s, uc, "idle_transaction_timeout"), timeout(s, uc, "client_idle_timeout"),
                timeout(s, uc, "transaction_timeout"), s.durationValue("query_wait_notify"),
                s.value("server_check_query").trim(), s.durationValue("server_check_delay"),
                s.booleanValue("server_fast_close"), s.tcp(),
                "close".equalsIgnoreCase(s.value("session_state_policy").strip()), tls);
        return pc;
    }

    /**
     * Takes a snapshot of every pool's shards, each on its own loop (all pools of a loop in one
     * task, so their counts agree), and hands the lot to {@code done} on {@code replyOn}. Never
     * blocks a loop: the console that asks runs on one of them.
     */
    public void snapshot(boolean rows, java.util.concurrent.Executor replyOn,
            java.util.function.Consumer<List<ShardSnapshot>> done) {
        List<ShardSnapshot> out = java.util.Collections.synchronizedList(new ArrayList<>());
        forEachShard(shard -> out.add(shard.snapshot(rows)), replyOn, () -> done.accept(List.copyOf(out)));
    }

    /** Runs {@code action} on every shard of every pool, each on its own loop; then {@code done} on {@code replyOn}. */
    public void forEachShard(java.util.function.Consumer<PoolShard> action, java.util.concurrent.Executor replyOn,
            Runnable done) {
        List<Pool> all = new ArrayList<>(pools.values());
        java.util.concurrent.atomic.AtomicInteger left = new java.util.concurrent.atomic.AtomicInteger(loops.length);
        for (int i = 0; i < loops.length; i++) {
            int loop = i;
            loops[i].execute(() -> {
                try {
                    for (Pool p : all) {
                        action.accept(p.shard(loop));
                    }
                } finally {
                    if (left.decrementAndGet() == 0) {
                        replyOn.execute(done);
                    }
                }
            });
        }
    }

    // ---- the console's controls: PAUSE, RESUME, DISABLE, ENABLE, RECONNECT, KILL ----

    /** PAUSE with no database: every pool, those made later included. */
    private volatile boolean pausedAll;
    /** PAUSE db, and KILL db (which leaves the database paused, as in PgBouncer). */
    private final java.util.Set<String> pausedDbs = ConcurrentHashMap.newKeySet();
    /** DISABLE db: new logins to it are refused. */
    private final java.util.Set<String> disabledDbs = ConcurrentHashMap.newKeySet();

    /** PAUSE: {@code database} null for all. Servers close as released; clients queue. */
    public void pause(String database) {
        if (database == null) {
            pausedAll = true;
        } else {
            pausedDbs.add(database);
        }
        applyPause();
    }

    /** RESUME: {@code database} null for the global pause (a paused database stays paused). */
    public void resume(String database) {
        if (database == null) {
            pausedAll = false;
        } else {
            pausedDbs.remove(database);
        }
        applyPause();
    }

    public boolean pausedAll() {
        return pausedAll;
    }

    public boolean paused(String database) {
        return pausedAll || pausedDbs.contains(database);
    }

    /** True while PAUSE db (or KILL db) holds {@code database}, whatever the global pause. */
    public boolean databasePaused(String database) {
        return pausedDbs.contains(database);
    }

    private void applyPause() {
        for (Pool p : pools.values()) {
            p.paused(paused(p.config().database()));
        }
    }

    public void disable(String database) {
        disabledDbs.add(database);
    }

    public void enable(String database) {
        disabledDbs.remove(database);
    }

    public boolean disabled(String database) {
        return disabledDbs.contains(database);
    }

    /** RECONNECT: {@code database} null for all; every server replaced as it comes free. */
    public void reconnect(String database) {
        for (Pool p : pools.values()) {
            if (database == null || database.equals(p.config().database())) {
                p.reconnect();
            }
        }
    }

    /**
     * KILL: {@code database} null for all; every client and server of it closed ("database
     * removed", PgBouncer's words), and the database left paused until RESUME db.
     */
    public void kill(String database) {
        for (Pool p : pools.values()) {
            String db = p.config().database();
            if (database == null || database.equals(db)) {
                pausedDbs.add(db);
                p.killAll("database removed");
            }
        }
    }

    /**
     * Counts a logged-in client of {@code database} (a configured name) as {@code user}, the name it
     * logged in with, against max_db_client_connections and max_user_client_connections; returns
     * the message it is refused with when a limit is reached (it is then not counted). Each
     * admitted client is {@link #releaseClient released} when it closes.
     */
    public String admitClient(String database, String user) {
        return clientLimits.admit(database, user, maxDbClientConnections(database), maxUserClientConnections(user));
    }

    public void releaseClient(String database, String user) {
        clientLimits.release(database, user);
    }

    /** The max_db_client_connections that applies to {@code database} (0: no limit). */
    public int maxDbClientConnections(String database) {
        Config c = config;
        Integer own = c.database(database).map(DatabaseConfig::maxDbClientConnections).orElse(null);
        return own != null ? own : c.settings().intValue("max_db_client_connections");
    }

    /** The max_user_client_connections that applies to {@code user} (0: no limit). */
    public int maxUserClientConnections(String user) {
        Config c = config;
        Integer own = c.user(user).map(UserConfig::maxUserClientConnections).orElse(null);
        return own != null ? own : c.settings().intValue("max_user_client_connections");
    }

    /** Logged-in clients of {@code database}, on every loop (the console not counted). */
    public int databaseClients(String database) {
        return clientLimits.database(database);
    }

    /** Logged-in clients that logged in as {@code user}, on every loop (the console not counted). */
    public int userClients(String user) {
        return clientLimits.user(user);
    }

    /** The running auth_file, null when none is configured. */
    public AuthFile authFile() {
        return authFile;
    }

    /** The running config the pools were made from. */
    public Config config() {
        return config;
    }

    /**
     * A client timeout of the pool's user: its [users] value when above 0, else [pgbouncer]'s.
     * The pool's user is the forced user of a database that has one (PgBouncer takes the login
     * user's; pools here are per server user).
     */
    private static java.time.Duration timeout(Settings s, Optional<UserConfig> uc, String key) {
        return uc.flatMap(u -> u.timeout(key)).orElse(s.durationValue(key));
    }

    /** Every shard of every pool that lives on {@code loop}, for that loop's upkeep. */
    public List<PoolShard> shardsOn(EventLoop loop) {
        int i = loopIndex(loop);
        List<PoolShard> out = new ArrayList<>();
        for (Pool p : pools.values()) {
            out.add(p.shard(i));
        }
        return out;
    }

    private static void putIfSet(Map<String, String> m, String k, String v) {
        if (v != null && !v.isEmpty()) {
            m.put(k, v);
        }
    }

    @SafeVarargs
    private static <T> T firstNonNull(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        throw new IllegalStateException("no value");
    }
}
