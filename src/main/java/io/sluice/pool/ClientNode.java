package io.sluice.pool;

/**
 * A logged-in client as its pool shard knows it: its state, since when, and its place in the
 * shard's list for that state. The client keeps it ({@link PoolClient#node}) from joining the
 * pool to leaving it, so a client that leaves while it waits is unlinked at once instead of
 * searched for among thousands.
 */
public final class ClientNode {
    private final PoolClient client;
    /** Changed only by {@link PoolShard#move(ClientNode, ClientState)}. */
    ClientState state = ClientState.IDLE;
    /** When it entered its state (System.nanoTime). */
    long sinceNanos;
    /** Told in this wait that no server is free (query_wait_notify); false again once it stops waiting. */
    boolean waitNotified;
    /** {@link LeftState} kinds already logged for this client: one LOG line per kind, not per transaction. */
    int leftStateLogged;
    /** The list this node is in, null once it left; and its neighbours there. */
    ClientList list;
    ClientNode prev;
    ClientNode next;

    ClientNode(PoolClient client, long sinceNanos) {
        this.client = client;
        this.sinceNanos = sinceNanos;
    }

    public PoolClient client() {
        return client;
    }

    public ClientState state() {
        return state;
    }

    /** When it entered its state, in System.nanoTime. */
    public long sinceNanos() {
        return sinceNanos;
    }
}
