package io.sluice.pool;

import java.util.function.Consumer;

/**
 * The clients of one pool shard in one state, in the order they entered it (first come first
 * served, for the waiting list). A linked list whose nodes the clients hold, rather than an
 * array deque: a waiting client that disconnects (thousands at once when an application
 * restarts under load) is removed in constant time, where searching a deque was linear in the
 * number of waiters, on the event loop. Used on the shard's event loop only.
 */
final class ClientList {
    private ClientNode head;
    private ClientNode tail;
    private int size;

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    ClientNode peekFirst() {
        return head;
    }

    void addLast(ClientNode n) {
        if (n.list != null) {
            throw new IllegalStateException("a client is in one list at a time");
        }
        n.list = this;
        n.prev = tail;
        n.next = null;
        if (tail == null) {
            head = n;
        } else {
            tail.next = n;
        }
        tail = n;
        size++;
    }

    ClientNode peekLast() {
        return tail;
    }

    /** Takes {@code n} out of this list; false if it was not in it. */
    boolean remove(ClientNode n) {
        if (n.list != this) {
            return false;
        }
        ClientNode p = n.prev;
        ClientNode x = n.next;
        if (p == null) {
            head = x;
        } else {
            p.next = x;
        }
        if (x == null) {
            tail = p;
        } else {
            x.prev = p;
        }
        n.list = null;
        n.prev = null;
        n.next = null;
        size--;
        return true;
    }

    /** Calls {@code action} for each client, first first; it may move the one it is given. */
    void forEach(Consumer<ClientNode> action) {
        ClientNode n = head;
        while (n != null) {
            ClientNode next = n.next;
            action.accept(n);
            n = next;
        }
    }
}
