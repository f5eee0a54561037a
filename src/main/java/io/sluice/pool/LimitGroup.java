package io.sluice.pool;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A server-connection limit shared by several pools: max_db_connections (the pools of one
 * database) or max_user_connections (the pools of one user). When it is reached, a pool with
 * waiting clients can only get a server by another pool of the group giving one up.
 */
final class LimitGroup {
    /** Volatile: RELOAD may change it while every loop reads it. */
    private volatile int max;
    /** Servers open or opening in all the group's pools. Atomic: the pools live on every loop. */
    private final AtomicInteger count = new AtomicInteger();
    private final List<Pool> pools = new CopyOnWriteArrayList<>();

    LimitGroup(int max) {
        this.max = max;
    }

    /** A RELOAD changed max_db_connections or max_user_connections. */
    void max(int max) {
        this.max = max;
    }

    void add(Pool pool) {
        pools.add(pool);
    }

    List<Pool> pools() {
        return pools;
    }

    /** True when the limit is set and reached: a free slot can only come from another pool. */
    boolean full() {
        return max > 0 && count.get() >= max;
    }

    boolean limited() {
        return max > 0;
    }

    boolean tryIncrement() {
        return tryIncrement(count, max);
    }

    /** Adds one to {@code counter} unless that would pass {@code limit} (0 = no limit). */
    static boolean tryIncrement(AtomicInteger counter, int limit) {
        while (true) {
            int n = counter.get();
            if (limit > 0 && n >= limit) {
                return false;
            }
            if (counter.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    void decrement() {
        count.decrementAndGet();
    }
}
