package io.sluice.metrics;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** Totals per pool since start, for the admin console's SHOW STATS and for tests. */
public final class Counters implements Metrics {
    private final ConcurrentHashMap<String, PoolCounters> pools = new ConcurrentHashMap<>();

    @Override
    public PoolCounters pool(String database, String user) {
        return pools.computeIfAbsent(database + '\0' + user, k -> new PoolCounters());
    }

    /** Totals per database (its pools summed), by database name. */
    public java.util.SortedMap<String, Totals> byDatabase() {
        java.util.SortedMap<String, Totals> out = new java.util.TreeMap<>();
        pools.forEach((key, c) -> out.merge(key.substring(0, key.indexOf('\0')), c.totals(), Totals::plus));
        return out;
    }

    /** The totals of a pool, empty when it never reported. */
    public Optional<PoolCounters> find(String database, String user) {
        return Optional.ofNullable(pools.get(database + '\0' + user));
    }
}
