package io.sluice.pool;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Logged-in clients per database and per user, across every loop, for
 * max_db_client_connections and max_user_client_connections. A client is admitted once it has
 * authenticated (PgBouncer counts it at the start-up packet, which tells an unauthenticated
 * client whether the name it tried is configured with a limit) and let go when it closes.
 */
final class ClientLimits {
    private final ConcurrentHashMap<String, AtomicInteger> byDatabase = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> byUser = new ConcurrentHashMap<>();

    /**
     * Counts a client of {@code database} logged in as {@code user}, or counts nothing and
     * returns PgBouncer's message when either limit (0: none) is reached.
     */
    String admit(String database, String user, int maxDb, int maxUser) {
        if (!take(byDatabase, database, maxDb)) {
            return "client connections exceeded (max_db_client_connections)";
        }
        if (!take(byUser, user, maxUser)) {
            give(byDatabase, database);
            return "client connections exceeded (max_user_client_connections)";
        }
        return null;
    }

    /** The client admitted with these names has gone. */
    void release(String database, String user) {
        give(byDatabase, database);
        give(byUser, user);
    }

    int database(String database) {
        AtomicInteger n = byDatabase.get(database);
        return n == null ? 0 : n.get();
    }

    int user(String user) {
        AtomicInteger n = byUser.get(user);
        return n == null ? 0 : n.get();
    }

    private static boolean take(ConcurrentHashMap<String, AtomicInteger> counts, String key, int max) {
        boolean[] ok = {true};
        counts.compute(key, (k, n) -> {
            AtomicInteger c = n == null ? new AtomicInteger() : n;
            if (max > 0 && c.get() >= max) {
                ok[0] = false;
            } else {
                c.incrementAndGet();
            }
            return c.get() == 0 ? null : c;
        });
        return ok[0];
    }

    /** Counts one down; a name no client uses any more leaves the map (names come from clients). */
    private static void give(ConcurrentHashMap<String, AtomicInteger> counts, String key) {
        counts.computeIfPresent(key, (k, n) -> n.decrementAndGet() == 0 ? null : n);
    }
}
