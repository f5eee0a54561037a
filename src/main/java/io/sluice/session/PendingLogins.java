package io.sluice.session;

import io.netty.util.concurrent.FastThreadLocal;

/**
 * The clients of one event loop that have not logged in yet, oldest first, for
 * max_unauthenticated_clients: when that many are logging in, a new connection takes the place
 * of this loop's oldest one if it has been at it for {@link #EVICTABLE_AFTER_NANOS} (thousands
 * of sockets that send a byte every few seconds must not keep real clients out until
 * client_login_timeout), else it is refused. One list per loop, used on that loop only; the
 * count across loops is {@link SessionContext#pendingLogins()}.
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

    private ClientLogin head;
    private ClientLogin tail;

    /** This loop's list. */
    static PendingLogins current() {
        return LOOP.get();
    }

    void add(ClientLogin c) {
        c.pendingPrev = tail;
        c.pendingNext = null;
        if (tail == null) {
            head = c;
        } else {
            tail.pendingNext = c;
        }
        tail = c;
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
    }

    /** The one logging in longest on this loop, null if none. */
    ClientLogin oldest() {
        return head;
    }
}
