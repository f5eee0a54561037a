package io.sluice.session;

import io.netty.util.concurrent.FastThreadLocal;

/**
 * The clients of one event loop that have not logged in yet, oldest first, for
 * max_unauthenticated_clients: when that many are logging in, a new connection takes the place
 * of the oldest one of some loop if it has been at it for {@link #EVICTABLE_AFTER_NANOS}
 * (thousands of sockets that send a byte every few seconds must not keep real clients out until
 * client_login_timeout), else it is refused. One list per loop, changed on that loop only; each
 * publishes when its oldest one came, so that any loop can pick one to evict on, and the
 * eviction runs there. The count across loops is {@link SessionContext#pendingLogins()}.
 */
final class PendingLogins {
    /** A login this old has had far longer than a client needs (a SCRAM login takes milliseconds). */
    static final long EVICTABLE_AFTER_NANOS = 2_000_000_000L;

    private static final FastThreadLocal<PendingLogins> LOOP = new FastThreadLocal<>() {
        @Override
        protected PendingLogins initialValue() {
            return new PendingLogins();
        }
    };

    /** Every loop's list. */
    private static final java.util.List<PendingLogins> ALL = new java.util.concurrent.CopyOnWriteArrayList<>();

    private ClientLogin head;
    private ClientLogin tail;
    /** When {@link #head} came (System.nanoTime), Long.MAX_VALUE when the list is empty: read by other loops. */
    private volatile long oldestSinceNanos = Long.MAX_VALUE;
    /** The loop that owns the list. */
    private io.netty.util.concurrent.EventExecutor loop;

    /** This loop's list. */
    static PendingLogins current() {
        return LOOP.get();
    }

    /**
     * Makes room for one more login: finds a loop whose oldest login is evictable and has it
     * evicted there (in its own time: the count may pass the cap by the evictions under way).
     * False when every login is younger than that: the new connection is to be refused.
     */
    static boolean evictOldest(long now) {
        PendingLogins pick = null;
        for (PendingLogins p : ALL) {
            if (now - p.oldestSinceNanos > EVICTABLE_AFTER_NANOS && (pick == null || p.oldestSinceNanos < pick.oldestSinceNanos)) {
                pick = p;
            }
        }
        if (pick == null) {
            return false;
        }
        PendingLogins p = pick;
        if (p.loop.inEventLoop()) {
            p.evictHead(now);
        } else {
            try {
                p.loop.execute(() -> p.evictHead(System.nanoTime()));
            } catch (java.util.concurrent.RejectedExecutionException e) {
                ALL.remove(p);  // a loop that has shut down (a Sluice stopped in this JVM)
                return false;
            }
        }
        return true;
    }

    private void evictHead(long now) {
        ClientLogin c = head;
        if (c != null && now - c.pendingSinceNanos() > EVICTABLE_AFTER_NANOS) {
            c.evict();
        }
    }

    void add(ClientLogin c) {
        if (loop == null) {
            loop = c.loop();
            ALL.add(this);
        }
        c.pendingPrev = tail;
        c.pendingNext = null;
        if (tail == null) {
            head = c;
        } else {
            tail.pendingNext = c;
        }
        tail = c;
        if (head == c) {
            oldestSinceNanos = c.pendingSinceNanos();
        }
    }

    void remove(ClientLogin c) {
        if (c.pendingPrev == null) {
            head = c.pendingNext;
        } else {
            c.pendingPrev.pendingNext = c.pendingNext;
        }
        if (c.pendingNext == null) {
            tail = c.pendingPrev;
        } else {
            c.pendingNext.pendingPrev = c.pendingPrev;
        }
        c.pendingPrev = null;
        c.pendingNext = null;
        oldestSinceNanos = head == null ? Long.MAX_VALUE : head.pendingSinceNanos();
    }

}
