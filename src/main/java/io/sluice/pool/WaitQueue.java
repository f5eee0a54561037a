package io.sluice.pool;

/**
 * The clients of one pool shard waiting for a server, first come first served. A linked list
 * whose nodes the clients hold, rather than an array deque: a waiting client that disconnects
 * (thousands at once when an application restarts under load) is removed in constant time,
 * where searching a deque was linear in the number of waiters, on the event loop. Used on the
 * shard's event loop only.
 */
final class WaitQueue {
    private Waiter head;
    private Waiter tail;
    private int size;

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    Waiter peekFirst() {
        return head;
    }

    void addLast(PoolClient client, long sinceNanos) {
        if (client.waiter() != null) {
            throw new IllegalStateException(client.logId() + " is already waiting");
        }
        Waiter w = new Waiter(client, sinceNanos);
        w.queue = this;
        w.prev = tail;
        if (tail == null) {
            head = w;
        } else {
            tail.next = w;
        }
        tail = w;
        size++;
        client.waiter(w);
    }

    Waiter pollFirst() {
        Waiter w = head;
        if (w != null) {
            unlink(w);
        }
        return w;
    }

    Waiter pollLast() {
        Waiter w = tail;
        if (w != null) {
            unlink(w);
        }
        return w;
    }

    /** Takes {@code client} out of the queue; false if it was not waiting here. */
    boolean remove(PoolClient client) {
        Waiter w = client.waiter();
        if (w == null || w.queue != this) {
            return false;
        }
        unlink(w);
        return true;
    }

    private void unlink(Waiter w) {
        Waiter p = w.prev;
        Waiter n = w.next;
        if (p == null) {
            head = n;
        } else {
            p.next = n;
        }
        if (n == null) {
            tail = p;
        } else {
            n.prev = p;
        }
        w.queue = null;
        w.prev = null;
        w.next = null;
        size--;
        w.client().waiter(null);
    }
}
