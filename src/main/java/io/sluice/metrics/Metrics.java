package io.sluice.metrics;

/**
 * Where pools report to: one {@link PoolMetrics} per pool, asked for once when the pool is
 * made. Implementations: {@link #NOOP}, and {@link Counters} for the admin console.
 */
public interface Metrics {
    /** Reports nothing. */
    Metrics NOOP = (database, user) -> PoolMetrics.NOOP;

    /** The reporter of the pool of {@code database} logged in to as {@code user}. */
    PoolMetrics pool(String database, String user);
}
