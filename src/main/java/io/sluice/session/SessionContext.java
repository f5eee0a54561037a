package io.sluice.session;

import io.sluice.auth.AuthFile;
import io.sluice.auth.ScramKeyCache;
import io.sluice.config.Config;
import io.sluice.pool.PoolManager;
import io.sluice.tls.ClientTls;
import io.netty.util.concurrent.FastThreadLocal;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicInteger;

/** What every client session shares: config, credentials, pools and the global client count. */
public final class SessionContext {
    /** Replaced by a reload ({@link #reconfigure}); read by every loop at each login. */
    private volatile Config config;
    private volatile AuthFile authFile;
    /** TLS towards clients: replaced by a reload for connections accepted after it. */
    private volatile ClientTls clientTls = ClientTls.disabled();
    private final PoolManager pools;
    private final CancelRegistry cancels = new CancelRegistry();
    private final PreAuthLog preAuthLog = new PreAuthLog();
    private final ScramKeyCache scramKeys = new ScramKeyCache();
    /**
     * One generator per event-loop thread: md5 salts, cancel keys and SCRAM nonces are drawn
     * at every login, and one shared SecureRandom would serialise the loops on its lock.
     */
    private static final FastThreadLocal<LoginRandom> RANDOM = new FastThreadLocal<>() {
        @Override
        protected LoginRandom initialValue() throws Exception {
            return new LoginRandom();
        }
    };
    /**
     * Client sockets on all loops, from accept (logged in or not, any database), for
     * max_client_conn. Atomic: every loop accepts clients.
     */
    private final AtomicInteger clients = new AtomicInteger();
    /** Of those, the ones not logged in yet (max_unauthenticated_clients), on all loops. */
    private final AtomicInteger pendingLogins = new AtomicInteger();

    private final TrackedNames trackedNames;
    private volatile boolean logConnections;
    private volatile boolean logDisconnections;

    public SessionContext(Config config, AuthFile authFile, PoolManager pools) {
        this.config = config;
        this.trackedNames = new TrackedNames(config.settings().trackExtraParameters());
        this.logConnections = config.settings().booleanValue("log_connections");
        this.logDisconnections = config.settings().booleanValue("log_disconnections");
        this.authFile = authFile;
        this.pools = pools;
    }

    /**
     * Takes a reloaded config and auth_file: logins from now on use them; clients already in
     * keep what they logged in with. track_extra_parameters needs a restart, as in PgBouncer.
     */
    public void reconfigure(Config loaded, AuthFile loadedAuth) {
        this.config = loaded;
        this.authFile = loadedAuth;
        this.logConnections = loaded.settings().booleanValue("log_connections");
        this.logDisconnections = loaded.settings().booleanValue("log_disconnections");
    }

    /** auth_hba_file, loaded (auth_type hba), else null; replaced by a reload. */
    private volatile io.sluice.auth.HbaFile hba;

    public void hba(io.sluice.auth.HbaFile rules) {
        this.hba = rules;
    }

    io.sluice.auth.HbaFile hba() {
        return hba;
    }

    /** Sets TLS towards clients (start-up and reload). */
    public void clientTls(ClientTls tls) {
        this.clientTls = tls;
    }

    public ClientTls clientTls() {
        return clientTls;
    }

    private volatile ConsoleRoute console;
    private volatile boolean shuttingDown;

    /** A shutdown has begun: logins other than the console's are refused. */
    public void shuttingDown() {
        shuttingDown = true;
    }

    boolean isShuttingDown() {
        return shuttingDown;
    }

    /** Where admin-database clients go; null: the console is not served (unit tests). */
    ConsoleRoute console() {
        return console;
    }

    public void console(ConsoleRoute route) {
        this.console = route;
    }

    /** log_connections: a line per successful client login. */
    boolean logConnections() {
        return logConnections;
    }

    /** log_disconnections: a line per client gone. */
    boolean logDisconnections() {
        return logDisconnections;
    }

    TrackedNames trackedNames() {
        return trackedNames;
    }

    public Config config() {
        return config;
    }

    public AuthFile authFile() {
        return authFile;
    }

    public PoolManager pools() {
        return pools;
    }

    /** The rationed log for clients that have not logged in. */
    PreAuthLog preAuthLog() {
        return preAuthLog;
    }

    public CancelRegistry cancels() {
        return cancels;
    }

    public ScramKeyCache scramKeys() {
        return scramKeys;
    }

    /** This thread's generator, for SCRAM nonces. */
    public SecureRandom random() {
        return RANDOM.get().secureRandom();
    }

    /** This thread's login randomness (md5 salts, cancel keys), drawn in blocks. */
    LoginRandom loginRandom() {
        return RANDOM.get();
    }

    public AtomicInteger clients() {
        return clients;
    }

    AtomicInteger pendingLogins() {
        return pendingLogins;
    }
}
