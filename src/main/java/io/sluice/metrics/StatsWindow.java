package io.sluice.metrics;

import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * SHOW STATS averages and the periodic {@code stats:} log line, computed as PgBouncer does:
 * every stats_period a snapshot of the totals is taken; averages shown on the console run from
 * the snapshot before last to now (one to two periods), the log line over the last period alone.
 * Rates are per second; times are mean microseconds per transaction, query or assignment.
 */
public final class StatsWindow {
    private long olderStampNanos;
    private long newerStampNanos;
    private SortedMap<String, Totals> older = new TreeMap<>();
    private SortedMap<String, Totals> newer = new TreeMap<>();

    /** Starts the window at {@code nowNanos}, as if a tick had come a second before (PgBouncer's start). */
    public StatsWindow(long nowNanos) {
        this.olderStampNanos = nowNanos - 1_000_000_000L;
        this.newerStampNanos = nowNanos - 1_000_000_000L;
    }

    /**
     * A stats_period passed: {@code current} (per database) becomes the newest snapshot. Returns
     * the averages of all databases together over the period just ended, for the log line.
     */
    public synchronized Averages tick(long nowNanos, SortedMap<String, Totals> current) {
        Totals all = sum(current);
        Totals before = sum(newer);
        long dur = nowNanos - newerStampNanos;
        older = newer;
        olderStampNanos = newerStampNanos;
        newer = new TreeMap<>(current);
        newerStampNanos = nowNanos;
        return Averages.of(all.minus(before), dur);
    }

    /** The averages of {@code db} now, from its {@code current} totals. */
    public synchronized Averages averages(String db, Totals current, long nowNanos) {
        Totals old = older.getOrDefault(db, Totals.ZERO);
        return Averages.of(current.minus(old), nowNanos - olderStampNanos);
    }

    /** The averages of all databases together now. */
    public synchronized Averages averages(SortedMap<String, Totals> current, long nowNanos) {
        return Averages.of(sum(current).minus(sum(older)), nowNanos - olderStampNanos);
    }

    private static Totals sum(Map<String, Totals> m) {
        Totals t = Totals.ZERO;
        for (Totals x : m.values()) {
            t = t.plus(x);
        }
        return t;
    }

    /** Rates per second and mean times in microseconds over a window, in PgBouncer's integer arithmetic. */
    public record Averages(long serverAssignments, long transactions, long queries, long received, long sent,
            long transactionMicros, long queryMicros, long waitMicros, long clientParses, long serverParses,
            long binds, long clientLogins) {

        static Averages of(Totals d, long durNanos) {
            long durMicros = durNanos / 1000;
            if (durMicros <= 0) {
                return new Averages(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
            }
            return new Averages(rate(d.serverAssignments(), durMicros), rate(d.transactions(), durMicros),
                    rate(d.queries(), durMicros), rate(d.received(), durMicros), rate(d.sent(), durMicros),
                    d.transactions() > 0 ? d.transactionMicros() / d.transactions() : 0,
                    d.queries() > 0 ? d.queryMicros() / d.queries() : 0,
                    d.serverAssignments() > 0 ? d.waitMicros() / d.serverAssignments() : 0,
                    rate(d.clientParses(), durMicros), rate(d.serverParses(), durMicros),
                    rate(d.binds(), durMicros), rate(d.clientLogins(), durMicros));
        }

        private static long rate(long count, long durMicros) {
            return Math.max(0, count) * 1_000_000L / durMicros;
        }

        /** PgBouncer's {@code stats:} log line. */
        public String logLine() {
            return "stats: " + transactions + " xacts/s, " + queries + " queries/s, " + clientParses
                    + " client parses/s, " + serverParses + " server parses/s, " + binds + " binds/s, "
                    + clientLogins + " client logins/s, in " + received + " B/s, out " + sent + " B/s, xact "
                    + transactionMicros + " us, query " + queryMicros + " us, wait " + waitMicros + " us";
        }
    }
}
