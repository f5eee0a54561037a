package io.sluice.metrics;

/**
 * A pool's or database's totals since start, in PgBouncer's SHOW STATS units: counts, bytes,
 * and times in microseconds.
 */
public record Totals(long serverAssignments, long transactions, long queries, long received, long sent,
        long transactionMicros, long queryMicros, long waitMicros, long clientParses, long serverParses,
        long binds, long clientLogins) {

    /** Nothing counted. */
    public static final Totals ZERO = new Totals(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** The sum of two totals (the pools of one database). */
    public Totals plus(Totals o) {
        return new Totals(serverAssignments + o.serverAssignments, transactions + o.transactions,
                queries + o.queries, received + o.received, sent + o.sent,
                transactionMicros + o.transactionMicros, queryMicros + o.queryMicros, waitMicros + o.waitMicros,
                clientParses + o.clientParses, serverParses + o.serverParses, binds + o.binds,
                clientLogins + o.clientLogins);
    }

    /** What was counted since {@code before}. */
    public Totals minus(Totals before) {
        return new Totals(serverAssignments - before.serverAssignments, transactions - before.transactions,
                queries - before.queries, received - before.received, sent - before.sent,
                transactionMicros - before.transactionMicros, queryMicros - before.queryMicros,
                waitMicros - before.waitMicros, clientParses - before.clientParses,
                serverParses - before.serverParses, binds - before.binds, clientLogins - before.clientLogins);
    }
}
