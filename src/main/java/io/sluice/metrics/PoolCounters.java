package io.sluice.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * One pool's totals. LongAdder: every event loop adds, and a single shared counter would
 * bounce its cache line between cores on every message.
 */
public final class PoolCounters implements PoolMetrics {
    private final LongAdder clientParses = new LongAdder();
    private final LongAdder serverParses = new LongAdder();
    private final LongAdder binds = new LongAdder();
    private final LongAdder clientLogins = new LongAdder();
    private final LongAdder serverAssignments = new LongAdder();
    private final LongAdder waitNanos = new LongAdder();
    private final LongAdder queries = new LongAdder();
    private final LongAdder transactions = new LongAdder();
    private final LongAdder queryNanos = new LongAdder();
    private final LongAdder transactionNanos = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final LongAdder sent = new LongAdder();

    @Override
    public void clientLogin() {
        clientLogins.increment();
    }

    @Override
    public void serverAssigned(long waitNanos) {
        serverAssignments.increment();
        if (waitNanos > 0) {
            this.waitNanos.add(waitNanos);
        }
    }

    @Override
    public void request(int queries, int transactions, long queryNanos, long transactionNanos,
            long received, long sent) {
        if (queries != 0) {
            this.queries.add(queries);
        }
        if (transactions != 0) {
            this.transactions.add(transactions);
        }
        this.queryNanos.add(queryNanos);
        if (transactionNanos != 0) {
            this.transactionNanos.add(transactionNanos);
        }
        this.received.add(received);
        this.sent.add(sent);
    }

    /** All totals at once, for SHOW STATS and the stats log line (each read is of a moving total). */
    public Totals totals() {
        return new Totals(serverAssignments.sum(), transactions.sum(), queries.sum(), received.sum(), sent.sum(),
                transactionNanos.sum() / 1000, queryNanos.sum() / 1000, waitNanos.sum() / 1000,
                clientParses.sum(), serverParses.sum(), binds.sum(), clientLogins.sum());
    }

    @Override
    public void clientParse() {
        clientParses.increment();
    }

    @Override
    public void serverParse() {
        serverParses.increment();
    }

    @Override
    public void bind() {
        binds.increment();
    }

    public long clientParses() {
        return clientParses.sum();
    }

    public long serverParses() {
        return serverParses.sum();
    }

    public long binds() {
        return binds.sum();
    }
}
