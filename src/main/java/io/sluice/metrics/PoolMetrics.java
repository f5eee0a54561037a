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
}
