package io.sluice.session;

import io.sluice.metrics.PoolMetrics;

/**
 * One client's SHOW STATS accounting, as PgBouncer counts it: a query begins with the first
 * bytes after the last request ended, a transaction with the first query after the last one
 * ended; both end at the last ReadyForQuery owed, the transaction when it says idle. Reported
 * to the pool's metrics once per request, so the relay pays two clock reads and one report.
 */
final class RequestStats {
    private long queryStartNanos;
    private long xactStartNanos;
    private int queries;
    private int transactions;
    private long received;

    /** When the running request began (System.nanoTime); 0 when none runs. */
    long startNanos() {
        return queryStartNanos;
    }

    /** When the open transaction began (System.nanoTime); 0 when none is open. */
    long transactionStartNanos() {
        return xactStartNanos;
    }

    /** A read of {@code bytes} from the client. */
    void read(int bytes) {
        received += bytes;
        if (queryStartNanos == 0) {
            queryStartNanos = System.nanoTime();
            queries++;
            if (xactStartNanos == 0) {
                xactStartNanos = queryStartNanos;
                transactions++;
            }
        }
    }

    /**
     * The request is over (its last ReadyForQuery, with transaction {@code status}), having sent
     * the client {@code sent} bytes: reported to {@code metrics}.
     */
    void done(byte status, long sent, PoolMetrics metrics) {
        if (queryStartNanos == 0) {
            return;
        }
        long now = System.nanoTime();
        long queryNanos = now - queryStartNanos;
        queryStartNanos = 0;
        long xactNanos = 0;
        if (status == 'I') {
            xactNanos = now - xactStartNanos;
            xactStartNanos = 0;
        }
        metrics.request(queries, transactions, queryNanos, xactNanos, received, sent);
        queries = 0;
        transactions = 0;
        received = 0;
    }
}
