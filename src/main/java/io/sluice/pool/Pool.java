package io.sluice.pool;

import io.netty.channel.EventLoop;
import io.sluice.metrics.PoolMetrics;
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
    /** Replaced by a reload ({@link #reconfigure}); read by every loop. */
    private volatile PoolConfig config;
    /**
     * Raised when a reload changes how servers log in: servers of an older generation are
     * closed once their client is done with them instead of being reused.
     */
    private volatile int generation;
    private final PoolShard[] shards;
    /** Server connections of this pool on all loops, open or opening. Atomic: shards run on different threads. */
    private final AtomicInteger servers = new AtomicInteger();
    /** max_db_connections, shared by every pool of the database. */
    private final LimitGroup dbLimit;
    /** max_user_connections, shared by every pool of the user. */
    private final LimitGroup userLimit;
    /** Both shared limits, for loops over them without an allocation per release. */
    private final LimitGroup[] limits;

    /** Where this pool's counts go. */
    private final PoolMetrics metrics;

    private volatile Map<String, String> welcomeParameters;
    private volatile byte[][] scramKeys;
    private volatile FailedLogin lastLoginFailure;

    /** The error of the last failed login and when it happened, for server_login_retry. */
    record FailedLogin(io.sluice.protocol.PgReader.ErrorFields error, long atNanos) {
    }

    Pool(PoolConfig config, EventLoop[] loops, ServerConnector connector, LimitGroup dbLimit, LimitGroup userLimit,
            PoolMetrics metrics) {
        this.config = config;
        this.metrics = metrics;
        this.dbLimit = dbLimit;
        this.userLimit = userLimit;
        this.limits = new LimitGroup[] {dbLimit, userLimit};
        this.shards = new PoolShard[loops.length];
        for (int i = 0; i < loops.length; i++) {
            shards[i] = new PoolShard(this, i, loops[i], connector);
        }
    }

    public PoolConfig config() {
        return config;
    }

    int generation() {
        return generation;
    }

    /**
     * Takes a reloaded config. With {@code replaceServers}, the servers there are (logged in
     * under the old settings) are closed: at once when logging in or idle, else once their
     * client is done. Each shard applies it on its own loop.
     */
    void reconfigure(PoolConfig pc, boolean replaceServers) {
        config = pc;
        if (replaceServers) {
            generation++;
            // The parameters new clients are welcomed with come from the next server login.
            welcomeParameters = null;
            lastLoginFailure = null;
            scramKeys = null;
            serverScramKeys.clear();
        }
        for (PoolShard s : shards) {
            s.loop().execute(() -> s.configChanged(replaceServers));
        }
    }

    private volatile boolean paused;

    /** PAUSE or KILL in force: clients queue, no server is opened or reused. */
    public boolean paused() {
        return paused;
    }

    /**
     * PAUSE (true): servers are closed as their clients finish with them (idle ones at once),
     * and clients wait for a server; done when {@link #serverCount} is 0. RESUME (false):
     * waiting clients get servers again.
     */
    void paused(boolean on) {
        if (paused == on) {
            return;
        }
        paused = on;
        for (PoolShard s : shards) {
            s.loop().execute(on ? () -> ShardUpkeep.paused(s) : s::openForWaiters);
        }
    }

    /** RECONNECT: every server is replaced by a new one, each once its client is done with it. */
    void reconnect() {
        generation++;
        for (PoolShard s : shards) {
            s.loop().execute(() -> ShardUpkeep.reconnect(s));
        }
    }

    /** KILL: every client gets {@code reason} and every server is closed; the pool stays paused. */
    void killAll(String reason) {
        paused = true;
        for (PoolShard s : shards) {
            s.loop().execute(() -> ShardUpkeep.kill(s, reason));
        }
    }

    /** The pool's database is gone from the config: every client and server of it is closed. */
    void kill(String reason) {
        dbLimit.pools().remove(this);
        userLimit.pools().remove(this);
        for (PoolShard s : shards) {
            s.loop().execute(() -> s.kill(reason));
        }
    }

    /** Where the pool and its clients' relay report counts. */
    public PoolMetrics metrics() {
        return metrics;
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

    /** Servers being closed: still counted in {@link #serverCount} until their sockets are gone. */
    final AtomicInteger closing = new AtomicInteger();

    /** Servers not on their way out, on every loop. */
    int liveServerCount() {
        return servers.get() - closing.get();
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

    /** Server-login SCRAM keys by "salt:iterations", derived once from the pool's password. */
    private final java.util.concurrent.ConcurrentHashMap<String, byte[][]> serverScramKeys =
            new java.util.concurrent.ConcurrentHashMap<>();

    byte[][] serverScramKeys(String salt, int iterations, java.util.function.Supplier<byte[][]> derive) {
        return serverScramKeys.computeIfAbsent(salt + ':' + iterations, k -> derive.get());
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

    /** When a login was last tried again after "cannot connect now", on any loop. */
    private final java.util.concurrent.atomic.AtomicLong lastRetryNanos = new java.util.concurrent.atomic.AtomicLong();
    /** A little under upkeep's second, so that each upkeep may retry. */
    private static final long RETRY_NANOS = 900_000_000L;

    /**
     * True for one caller (of all loops) once the login that failed with {@code failure} and the
     * last retry are both RETRY_NANOS old: while PostgreSQL starts up, it is asked about once a
     * second, however many clients wait and on however many loops.
     */
    boolean mayRetryLogin(FailedLogin failure, long now) {
        long last = lastRetryNanos.get();
        if (now - failure.atNanos() < RETRY_NANOS || (last != 0 && now - last < RETRY_NANOS)) {
            return false;
        }
        return lastRetryNanos.compareAndSet(last, now);
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
        if (!LimitGroup.tryIncrement(servers, limit)) {
            return false;
        }
        if (!dbLimit.tryIncrement()) {
            servers.decrementAndGet();
            return false;
        }
        if (!userLimit.tryIncrement()) {
            dbLimit.decrement();
            servers.decrementAndGet();
            return false;
        }
        return true;
    }

    /** A server closed: its slot is free for this pool, or another pool of its database or user. */
    void releaseSlot() {
        servers.decrementAndGet();
        dbLimit.decrement();
        userLimit.decrement();
        slotFreed();
        for (LimitGroup g : limits) {
            if (g.limited()) {
                for (Pool p : g.pools()) {
                    if (p != this) {
                        p.slotFreed();
                    }
                }
            }
        }
    }

    /** Tells the loop whose clients have waited longest that a slot is free. */
    /** Runs {@code action} on every shard but {@code from}, each on its own loop. */
    void onOtherShards(PoolShard from, java.util.function.Consumer<PoolShard> action) {
        for (PoolShard s : shards) {
            if (s != from) {
                s.loop().execute(() -> action.accept(s));
            }
        }
    }

    void slotFreed() {
        if (!anyWaiting()) {
            return;
        }
        // The loop furthest below its share first (a slot freed for it by another loop must
        // reach it, or the two would trade servers forever); then the longest wait.
        PoolShard best = null;
        int bestDeficit = Integer.MIN_VALUE;
        for (PoolShard s : shards) {
            if (!s.starved) {
                continue;
            }
            int deficit = Math.max(0, share(s) - s.serverTotal) + (s.serverTotal == 0 ? 1 : 0);
            if (best == null || deficit > bestDeficit
                    || (deficit == bestDeficit && s.oldestWaitNanos - best.oldestWaitNanos < 0)) {
                best = s;
                bestDeficit = deficit;
            }
        }
        if (best != null) {
            best.loop().execute(best::openForWaiters);
        }
    }

    /**
     * True when clients on another loop of this pool wait with no server on its way, and that
     * loop is owed one: it has none, or fewer than its share while this one has more.
     */
    boolean starvedOnOtherLoop(PoolShard self) {
        // Called at every release: under load the fields read first change seldom (and stay in
        // this core's cache); the ones written at every transaction are read last, if at all.
        long now = 0;
        int mayGive = -1;
        for (PoolShard s : shards) {
            if (s == self || !s.starved) {
                continue;
            }
            if (s.serverTotal == 0) {
                lastHandoffNanos = System.nanoTime();
                return true;
            }
            if (mayGive < 0) {
                now = System.nanoTime();
                mayGive = self.serverTotal > 0 && handoffDue(now) && self.holdsMoreThanShare() ? 1 : 0;
            }
            if (mayGive == 1 && s.needsServerFromElsewhere(now)) {
                lastHandoffNanos = now;
                return true;
            }
        }
        return false;
    }

    /** True when clients of this pool wait on any loop. */
    boolean anyWaiting() {
        for (PoolShard s : shards) {
            if (s.waitingCount > 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * At most one server of this pool changes loops per this interval to even out shares (a
     * loop with no server at all is served at once). Client counts per loop shift while clients
     * connect and leave: without a pause between handoffs, a burst of connects or disconnects
     * turned into dozens of server closes and new PostgreSQL backends within a second, most of
     * them undone by the next shift.
     */
    private static final long HANDOFF_INTERVAL_NANOS = 20_000_000;
    private volatile long lastHandoffNanos = System.nanoTime() - HANDOFF_INTERVAL_NANOS;

    private boolean handoffDue(long now) {
        return now - lastHandoffNanos >= HANDOFF_INTERVAL_NANOS;
    }

    /** True when clients of another pool wait for a slot of a full database or user limit. */
    boolean starvedInSharedLimit() {
        for (LimitGroup g : limits) {
            if (g.full()) {
                long now = System.nanoTime();
                for (Pool p : g.pools()) {
                    if (p != this && p.anyWaiting()) {
                        for (PoolShard s : p.shards) {
                            if (s.starvedForLimit(now)) {
                                return true;
                            }
                        }
                    }
                }
            }
        }
        return false;
    }

    /** A loop's share of pool_size by its share of the pool's clients, rounded down. */
    int share(PoolShard shard) {
        int total = 0;
        for (PoolShard s : shards) {
            total += Math.max(0, s.clientCount);
        }
        if (total == 0) {
            return 0;
        }
        return (int) ((long) config.poolSize() * Math.max(0, shard.clientCount) / total);
    }

    /**
     * A loop has waiters and no room: ask another loop of this pool, or another pool sharing a
     * full database or user limit, to give up an idle server.
     */
    void requestDonation(PoolShard from) {
        long now = System.nanoTime();
        if (from.serverTotal == 0) {
            if (askIdle(this, from, true)) {
                return;
            }
        } else if (from.needsServerFromElsewhere(now) && handoffDue(now) && askIdle(this, from, false)) {
            lastHandoffNanos = now;
            return;
        }
        if (!from.starvedForLimit(now) && from.serverTotal > 0) {
            return;
        }
        for (LimitGroup g : limits) {
            if (g.full()) {
                for (Pool p : g.pools()) {
                    if (p != this && askIdle(p, null, true)) {
                        return;
                    }
                }
            }
        }
    }

    /** Asks a loop with an idle server to close it; {@code always}: even if it holds no more than its share. */
    private static boolean askIdle(Pool pool, PoolShard except, boolean always) {
        for (PoolShard s : pool.shards) {
            if (s != except && s.idleCount > 0 && (always || s.holdsMoreThanShare())) {
                s.loop().execute(always ? s::donateIdleAlways : s::donateIdle);
                return true;
            }
        }
        return false;
    }


    @Override
    public String toString() {
        return config.toString();
    }
}
