package io.sluice.metrics;

/**
 * What the pool and the relay report about one pool (database, user). Every event loop
 * reports, so an implementation must be thread-safe, and cheap: some of these run once per
 * message. The defaults do nothing, so {@link #NOOP} costs a call the JIT removes.
 */
public interface PoolMetrics {
    /** Reports nothing. */
    PoolMetrics NOOP = new PoolMetrics() {
    };

    /** A client sent a Parse of a named statement (prepared-statement tracking). */
    default void clientParse() {
    }

    /** Sluice sent a server a Parse under its own name, a re-prepare included. */
    default void serverParse() {
    }

    /** A Bind of a named statement was rewritten to the server's name. */
    default void bind() {
    }

    /** A client logged in to the pool. */
    default void clientLogin() {
    }

    /** A server was given to a client that had waited {@code waitNanos} for it (0 when one was idle). */
    default void serverAssigned(long waitNanos) {
    }

    /**
     * A client's request is over (its last ReadyForQuery came), as PgBouncer counts it:
     * {@code queries} and {@code transactions} begun since the last report (a transaction is
     * counted at its first query), {@code queryNanos} the time the request took,
     * {@code transactionNanos} the time of a transaction that ended with it (else 0), and the
     * bytes received from the client and sent to it since the last report.
     */
    default void request(int queries, int transactions, long queryNanos, long transactionNanos,
            long received, long sent) {
    }
}
