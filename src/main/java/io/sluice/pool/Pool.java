package io.sluice.pool;

import io.netty.channel.EventLoop;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pool of one (database, user): its resolved config, the global counts that enforce its
 * limits across event loops, and one {@link PoolShard} per event loop that holds the actual
 * connections. Servers never move between loops; a loop whose clients wait while another
 * loop has idle servers gets one of them closed and a new one opened on its own loop.
 */
public final class Pool {
    private final PoolConfig config;
    private final PoolShard[] shards;
    /** Server connections of this pool on all loops, open or opening. Atomic: shards run on different threads. */
    private final AtomicInteger servers = new AtomicInteger();
    /** Clients waiting on all loops; lets a shard tell that an idle server is wanted elsewhere. */
    final AtomicInteger waiting = new AtomicInteger();
    /** max_db_connections count, shared by every pool of the database. */
    private final AtomicInteger dbServers;
    private final int maxDbConnections;
    /** max_user_connections count, shared by every pool of the user. */
    private final AtomicInteger userServers;
    private final int maxUserConnections;

    private volatile Map<String, String> welcomeParameters;
    private volatile byte[][] scramKeys;
    private volatile FailedLogin lastLoginFailure;

    /** The error of the last failed login and when it happened, for server_login_retry. */
    record FailedLogin(io.sluice.protocol.PgReader.ErrorFields error, long atNanos) {
    }

    Pool(PoolConfig config, EventLoop[] loops, ServerConnector connector,
            AtomicInteger dbServers, int maxDbConnections, AtomicInteger userServers, int maxUserConnections) {
        this.config = config;
        this.dbServers = dbServers;
        this.maxDbConnections = maxDbConnections;
        this.userServers = userServers;
        this.maxUserConnections = maxUserConnections;
        this.shards = new PoolShard[loops.length];
        for (int i = 0; i < loops.length; i++) {
            shards[i] = new PoolShard(this, i, loops[i], connector);
        }
    }

    public PoolConfig config() {
        return config;
    }

    public PoolShard shard(int loopIndex) {
        return shards[loopIndex];
    }

    PoolShard[] shards() {
        return shards;
    }

    public int serverCount() {
        return servers.get();
    }

    /**
     * ParameterStatus values of the first server login, sent to clients at their login as
     * PgBouncer does; null until a server has logged in.
     */
    public Map<String, String> welcomeParameters() {
        return welcomeParameters;
    }

    void rememberWelcome(Map<String, String> params) {
        if (welcomeParameters == null) {
            welcomeParameters = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        }
    }

    /** ClientKey and ServerKey from a client's SCRAM login, to log into PostgreSQL with them. */
    public void rememberScramKeys(byte[] clientKey, byte[] serverKey) {
        scramKeys = new byte[][] {clientKey, serverKey};
    }

    byte[][] scramPassthroughKeys() {
        return scramKeys;
    }

    FailedLogin lastLoginFailure() {
        return lastLoginFailure;
    }

    void loginFailed(io.sluice.protocol.PgReader.ErrorFields error) {
        lastLoginFailure = new FailedLogin(error, System.nanoTime());
    }

    void loginSucceeded() {
        lastLoginFailure = null;
    }

    /**
     * Takes a server slot if the pool, its database and its user all have room. With
     * {@code reserve}, reserve_pool_size more are allowed on top of pool_size.
     */
    boolean tryReserve(boolean reserve) {
        int limit = config.poolSize() + (reserve ? config.reservePoolSize() : 0);
        if (!tryIncrement(servers, limit)) {
            return false;
        }
        if (!tryIncrement(dbServers, maxDbConnections)) {
            servers.decrementAndGet();
            return false;
        }
        if (!tryIncrement(userServers, maxUserConnections)) {
            dbServers.decrementAndGet();
            servers.decrementAndGet();
            return false;
        }
        return true;
    }

    /** A server closed: its slot is free; a loop with waiting clients may use it. */
    void releaseSlot() {
        servers.decrementAndGet();
        dbServers.decrementAndGet();
        userServers.decrementAndGet();
        slotFreed();
    }

    /** Tells the loop whose clients have waited longest that a slot is free. */
    void slotFreed() {
        if (waiting.get() == 0) {
            return;
        }
        PoolShard best = null;
        for (PoolShard s : shards) {
            if (s.starved && (best == null || s.oldestWaitNanos - best.oldestWaitNanos < 0)) {
                best = s;
            }
        }
        if (best != null) {
            best.loop().execute(best::openForWaiters);
        }
    }

    /** True when clients on another loop wait with no server on its way to them. */
    boolean starvedElsewhere(PoolShard self) {
        if (waiting.get() == 0) {
            return false;
        }
        for (PoolShard s : shards) {
            if (s != self && s.starved) {
                return true;
            }
        }
        return false;
    }

    /** A loop has waiters and no room: ask the other loops to give up an idle server. */
    void requestDonation(PoolShard from) {
        for (PoolShard s : shards) {
            if (s != from && s.idleCount > 0) {
                s.loop().execute(s::donateIdle);
                return;
            }
        }
    }

    private static boolean tryIncrement(AtomicInteger counter, int limit) {
        while (true) {
            int n = counter.get();
            if (limit > 0 && n >= limit) {
                return false;
            }
            if (counter.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    @Override
    public String toString() {
        return config.toString();
    }
}
