package io.sluice.pool;

import java.util.function.Consumer;

/**
 * The servers of one shard in one state, oldest first. Intrusive (the servers are the nodes),
 * so a move between states is a few pointer writes with no allocation or search: it happens
 * twice per transaction. Used on the shard's event loop only.
 */
final class ServerList {
    private ServerConnection head;
    private ServerConnection tail;
    private int size;

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    ServerConnection peekFirst() {
        return head;
    }

    ServerConnection peekLast() {
        return tail;
    }

    void addLast(ServerConnection s) {
        if (s.list != null) {
            throw new IllegalStateException(s.logId() + " is already in a list");
        }
        s.list = this;
        s.prev = tail;
        s.next = null;
        if (tail == null) {
            head = s;
        } else {
            tail.next = s;
        }
        tail = s;
        size++;
    }

    void remove(ServerConnection s) {
        if (s.list != this) {
            throw new IllegalStateException(s.logId() + " is not in this list");
        }
        ServerConnection p = s.prev;
        ServerConnection n = s.next;
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
        s.list = null;
        s.prev = null;
        s.next = null;
        size--;
    }

    /** Calls {@code action} for each server, oldest first; it may move or close the one it is given. */
    void forEach(Consumer<ServerConnection> action) {
        ServerConnection s = head;
        while (s != null) {
            ServerConnection next = s.next;
            action.accept(s);
            s = next;
        }
    }
}
