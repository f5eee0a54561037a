package io.sluice.server;

import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorChooserFactory;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Picks the event loop for a new client connection. The first loops are filled up to
 * {@code packSize} clients each before the next one takes any; once every loop has that many,
 * each new client goes to the loop with the fewest.
 *
 * <p>Why not Netty's round robin: a loop with only a few clients sleeps in epoll_wait after
 * nearly every message, and each sleep and wake-up is a context switch. Measured on 2 cores
 * with 10 busy pgbench clients, two half-used loops did ten times the context switches of one
 * loop and cost a quarter more CPU per transaction, for the same throughput. With many
 * clients, spreading them is what buys throughput, and it happens as before. Netty's own
 * {@code AutoScalingEventExecutorChooserFactory} scales by measured utilization, which lags a
 * burst of connects (a pgbench start-up would land every client on one loop).
 *
 * <p>Counts are per connection, not per load: a client's future traffic is unknown when it
 * connects. Only the accept path should call {@link EventExecutorChooserFactory.EventExecutorChooser#next()};
 * each client channel is then {@link #track tracked} so its close frees its place.
 */
final class PackingChooser implements EventExecutorChooserFactory {
    private final int packSize;
    private volatile Chooser chooser;

    PackingChooser(int packSize) {
        this.packSize = Math.max(1, packSize);
    }

    @Override
    public EventExecutorChooser newChooser(EventExecutor[] executors) {
        Chooser c = new Chooser(executors, packSize);
        chooser = c;
        return c;
    }

    /** Counts {@code ch} on its loop until it closes (call once per accepted client). */
    void track(Channel ch) {
        Chooser c = chooser;
        int i = c.indexOf(ch.eventLoop());
        if (i >= 0) {
            ch.closeFuture().addListener(f -> c.clients.decrementAndGet(i));
        }
    }

    /** A channel that {@code next()} counted is not a client (a listener): uncount it. */
    void untrack(Channel ch) {
        Chooser c = chooser;
        int i = c.indexOf(ch.eventLoop());
        if (i >= 0) {
            c.clients.decrementAndGet(i);
        }
    }

    /** Clients on each loop now, for tests and diagnostics. */
    int[] clientsPerLoop() {
        Chooser c = chooser;
        int[] out = new int[c.executors.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = c.clients.get(i);
        }
        return out;
    }

    static final class Chooser implements EventExecutorChooser {
        private final EventExecutor[] executors;
        private final Map<EventExecutor, Integer> index = new IdentityHashMap<>();
        private final int packSize;
        final AtomicIntegerArray clients;

        Chooser(EventExecutor[] executors, int packSize) {
            this.executors = executors.clone();
            this.packSize = packSize;
            this.clients = new AtomicIntegerArray(executors.length);
            for (int i = 0; i < executors.length; i++) {
                index.put(executors[i], i);
            }
        }

        int indexOf(EventExecutor e) {
            Integer i = index.get(e);
            return i == null ? -1 : i;
        }

        /** The loop index for the next client; counts it there. */
        int pick() {
            int least = 0;
            for (int i = 0; i < executors.length; i++) {
                int n = clients.get(i);
                if (n < packSize) {
                    least = i;
                    break;
                }
                if (n < clients.get(least)) {
                    least = i;
                }
            }
            clients.incrementAndGet(least);
            return least;
        }

        @Override
        public EventExecutor next() {
            return executors[pick()];
        }
    }
}
