package io.sluice.pool;

import io.sluice.protocol.SqlState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pool shard's upkeep, as PgBouncer's janitor: the once-a-second work (waiting timeouts,
 * idle and lifetime closes, min_pool_size, logins again after a failure) and the changes a
 * reload makes. Runs on the shard's loop, through the shard's own moves.
 */
final class ShardUpkeep {
    private static final Logger log = LoggerFactory.getLogger(PoolShard.class);

    private ShardUpkeep() {
    }

    /**
     * A reload changed the pool's settings (already in {@link Pool#config}). With
     * {@code replaceServers}, servers logging in or idle are closed now and the others once
     * their client is done; idle servers above a lowered pool_size go; waiters get servers a
     * raised pool_size allows.
     */
    static void configChanged(PoolShard shard, boolean replaceServers) {
        if (replaceServers) {
            shard.login.forEach(s -> shard.retire(s, "connect string changed"));
            shard.idle.forEach(s -> shard.retire(s, "connect string changed"));
        }
        fastClose(shard);
        PoolConfig cfg = shard.pool().config();
        while (!shard.idle.isEmpty() && shard.pool().liveServerCount() > cfg.poolSize() + cfg.reservePoolSize()) {
            shard.retire(shard.idle.peekFirst(), "pool_size lowered");
        }
        shard.openForWaiters();
    }

    /** The pool is gone from the config: its clients get {@code reason} and every server is closed. */
    static void kill(PoolShard shard, String reason) {
        for (ClientState st : new ClientState[] {ClientState.WAITING, ClientState.ACTIVE, ClientState.IDLE}) {
            shard.clients[st.ordinal()].forEach(n -> n.client().disconnect(SqlState.PROTOCOL_VIOLATION, reason));
        }
        for (ServerState st : ServerState.values()) {
            if (st != ServerState.CLOSED && st != ServerState.CLOSING) {
                shard.servers[st.ordinal()].forEach(s -> shard.retire(s, reason));
            }
        }
    }

    /**
     * query_timeout (a request running too long), idle_transaction_timeout (a client holding
     * its server idle inside a transaction), transaction_timeout (a transaction open too long)
     * and client_idle_timeout (a client without a server idle too long), as PgBouncer's janitor
     * applies them: the server is closed, never reused,
     * and the client told why.
     */
    private static void clientTimeouts(PoolShard shard, PoolConfig cfg, long now) {
        long query = cfg.queryTimeout().toNanos();
        long idleTx = cfg.idleTransactionTimeout().toNanos();
        long clientIdle = cfg.clientIdleTimeout().toNanos();
        long tx = cfg.transactionTimeout().toNanos();
        if (query > 0 || idleTx > 0 || tx > 0) {
            shard.servers[ServerState.ACTIVE.ordinal()].forEach(s -> {
                PoolClient c = s.linkedClient();
                if (c == null) {
                    return;
                }
                long started = c.requestStartNanos();
                String why = null;
                if (query > 0 && started != 0 && now - started > query) {
                    why = "query timeout";
                } else if (idleTx > 0 && s.idleInTransaction() && now - s.readyInTransactionNanos > idleTx) {
                    why = "idle transaction timeout";
                } else if (tx > 0 && c.transactionStartNanos() != 0 && now - c.transactionStartNanos() > tx) {
                    why = "transaction timeout";
                }
                if (why != null) {
                    // Cancel first: a backend busy in a long query would run it to its end.
                    if (started != 0 && s.processId() != 0) {
                        shard.cancelAndForget(s);
                    }
                    shard.retire(s, why);
                    c.disconnect(SqlState.PROTOCOL_VIOLATION, why);
                }
            });
        }
        if (clientIdle > 0) {
            shard.clients[ClientState.IDLE.ordinal()].forEach(n -> {
                if (now - n.sinceNanos() > clientIdle) {
                    n.client().disconnect(SqlState.PROTOCOL_VIOLATION, "client_idle_timeout");
                }
            });
        }
    }

    /** PAUSE or KILL reached this loop: idle servers and logins close now, the others once released. */
    static void paused(PoolShard shard) {
        shard.login.forEach(s -> shard.retire(s, "pause mode"));
        shard.idle.forEach(s -> shard.retire(s, "pause mode"));
    }

    /** RECONNECT: servers logging in or idle are closed now, the others once their client is done. */
    static void reconnect(PoolShard shard) {
        shard.login.forEach(s -> shard.retire(s, "RECONNECT"));
        shard.idle.forEach(s -> shard.retire(s, "RECONNECT"));
        fastClose(shard);
    }

    /**
     * server_fast_close: in session mode, a server that a reload or RECONNECT replaces is closed
     * as soon as it is between transactions rather than at the end of its client's session, and
     * its client with it (told why), as in PgBouncer. Other modes give servers back at every
     * transaction's end anyway.
     */
    static void fastClose(PoolShard shard) {
        PoolConfig cfg = shard.pool().config();
        if (!cfg.serverFastClose() || cfg.poolMode() != io.sluice.config.PoolMode.SESSION) {
            return;
        }
        int generation = shard.pool().generation();
        shard.servers[ServerState.ACTIVE.ordinal()].forEach(s -> {
            if (s.generation != generation && s.isClean()) {
                PoolClient c = s.linkedClient();
                shard.retire(s, "database configuration changed");
                if (c != null) {
                    c.disconnect(SqlState.PROTOCOL_VIOLATION, "database configuration changed");
                }
            }
        });
    }

    /** Once a second: reserve pool, min_pool_size, waiting timeouts, idle and lifetime closes. */
    static void run(PoolShard shard) {
        long now = System.nanoTime();
        PoolConfig cfg = shard.pool().config();
        if (log.isDebugEnabled() && (shard.serverTotal > 0 || !shard.waiters.isEmpty())) {
            log.debug("{} loop {}: clients {} waiting {} servers {} (login {} idle {} active {} reset {} canceling {})"
                    + " share {}", shard.pool(), shard.index, shard.clientCount, shard.waiters.size(), shard.serverTotal,
                    shard.login.size(), shard.idle.size(), shard.serverCount(ServerState.ACTIVE), shard.serverCount(ServerState.RESET),
                    shard.serverCount(ServerState.CANCELING), shard.pool().share(shard));
        }
        if (!shard.waiters.isEmpty()) {
            shard.openForWaiters();
            if (shard.starved) {
                shard.pool().requestDonation(shard);
            }
            long timeout = cfg.queryWaitTimeout().toNanos();
            long queryTimeout = cfg.queryTimeout().toNanos();
            long notify = cfg.queryWaitNotify().toNanos();
            shard.waiters.forEach(w -> {
                long waited = now - w.sinceNanos();
                if (notify > 0 && waited > notify && !w.waitNotified) {
                    w.waitNotified = true;
                    w.client().notice("No server connection available in postgres backend, client being queued");
                }
                // query_timeout covers the wait too, as in PgBouncer; it is checked first.
                String why = queryTimeout > 0 && waited > queryTimeout ? "query_timeout"
                        : timeout > 0 && waited > timeout ? "query_wait_timeout" : null;
                if (why != null) {
                    shard.move(w, ClientState.IDLE, now);
                    w.client().disconnect(SqlState.PROTOCOL_VIOLATION, why);
                }
            });
        }
        clientTimeouts(shard, cfg, now);
        fastClose(shard);
        long idleTimeout = cfg.serverIdleTimeout().toNanos();
        long lifetime = cfg.serverLifetime().toNanos();
        shard.idle.forEach(s -> {
            if (s.lifetimeOver(now, lifetime)) {
                // Recycled even at min_pool_size, as in PgBouncer; the minimum is opened again.
                shard.retire(s, "server lifetime over");
            } else if (idleTimeout > 0 && now - s.stateSinceNanos > idleTimeout) {
                shard.retireAboveMin(s, cfg.minPoolSize(), "server idle timeout");
            }
        });
        // min_pool_size is kept by the pool's first shard, so loops don't race to fill it; after
        // a failed login, again once server_login_retry has passed, as in PgBouncer.
        Pool.FailedLogin failure = shard.pool().lastLoginFailure();
        if (shard.index == 0 && !shard.pool().paused() && (failure == null || now - failure.atNanos() >= cfg.serverLoginRetry().toNanos())) {
            while (shard.pool().serverCount() < cfg.minPoolSize() && shard.pool().tryReserve(false)) {
                shard.open();
            }
        }
    }
}
