package io.sluice.pool;

/**
 * A client in a pool's waiting list and since when it waits. It is a node of that list
 * ({@link WaitQueue}) and the client keeps it ({@link PoolClient#waiter}), so a client that
 * leaves while it waits is unlinked at once instead of searched for among thousands.
 */
public final class Waiter {
    private final PoolClient client;
    private final long sinceNanos;
    /** The queue this waiter is in, null once it left; and its neighbours there. */
    WaitQueue queue;
    Waiter prev;
    Waiter next;

    Waiter(PoolClient client, long sinceNanos) {
        this.client = client;
        this.sinceNanos = sinceNanos;
    }

    public PoolClient client() {
        return client;
    }

    public long sinceNanos() {
        return sinceNanos;
    }
}
