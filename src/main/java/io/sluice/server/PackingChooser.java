package io.sluice.server;

import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorChooserFactory;
import io.netty.util.concurrent.SingleThreadEventExecutor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Picks the event loop for a new client connection: the first loop (in order) that has fewer
 * than {@code packSize} clients or is not busy, that is, used less than {@code busyPercent} of
 * a core over the last {@link #SAMPLE_MILLIS} (smoothed). When every loop has that many clients
 * and is busy, the loop with the fewest clients. A {@code busyPercent} of 0 (the default) packs
 * by count only.
 *
 * <p>Why not Netty's round robin: every loop that has work sleeps and wakes on its own, and each
 * sleep and wake-up is a context switch and a system call; a loop with more connections finds
 * more of them ready at each wake-up. Measured on 2 cores with 10 busy pgbench clients, two
 * half-used loops did ten times the context switches of one loop and cost a quarter more CPU per
 * transaction, for the same throughput: hence the pack by count, on by default.
 *
 * <p>Packing by load (off by default): with 1,000 and 5,000 clients on the benchmark machine
 * (docs/benchmarks.md), two loops slept twice as often per transaction as one and cost 15-25%
 * more CPU per transaction, while one loop used under half a core. But there the cores are
 * oversubscribed (pgbench and PostgreSQL share them), and one loop's thread, waiting its turn
 * for a core, served 5-15% fewer short select-only transactions than two: throughput first, so
 * the default spreads, and {@code --pack-cpu} is there for a machine where CPU matters more.
 *
 * <p>The known cost: a connection stays on its loop. Clients that connected while their loop
 * was idle stay there if their load grows later; only connections made after that go to other
 * loops. Client pools that renew their connections (a maximum lifetime) spread out again.
 * Netty's own {@code AutoScalingEventExecutorChooserFactory} also scales by utilization, by
 * suspending and resuming whole loops; this only decides where new clients go.
 *
 * <p>Counts are per connection: only the accept path should call
 * {@link EventExecutorChooserFactory.EventExecutorChooser#next()}; each client channel is then
 * {@link #track tracked} so its close frees its place.
 */
final class PackingChooser implements EventExecutorChooserFactory {
    /** How often each loop's CPU use is measured ({@link #sample}). */
    static final long SAMPLE_MILLIS = 100;

    private final int packSize;
    private final int busyPermille;
    private volatile Chooser chooser;

    /**
     * @param packSize clients a loop takes whatever its load (1: none)
     * @param busyPercent CPU use, in percent of one core, from which a loop counts as busy; 0
     *     places by count only
     */
    PackingChooser(int packSize, int busyPercent) {
        this.packSize = Math.max(1, packSize);
        this.busyPermille = Math.max(0, Math.min(100, busyPercent)) * 10;
    }

    @Override
    public EventExecutorChooser newChooser(EventExecutor[] executors) {
        Chooser c = new Chooser(executors, packSize, busyPermille);
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

    /**
     * True when loads count (--pack-cpu above 0, and the JVM measures thread CPU time):
     * {@link #sample} must then be called.
     */
    boolean placesByLoad() {
        Chooser c = chooser;
        return c != null && c.busyPermille > 0;
    }

    /**
     * Measures each loop's CPU use since the last call. Called every {@link #SAMPLE_MILLIS} when
     * {@link #placesByLoad}, from a thread that is not an event loop (it may wait for a loop's
     * thread to start).
     */
    void sample() {
        chooser.sample(System.nanoTime());
    }

    /** Clients on each loop now, for tests and diagnostics. */
    int[] clientsPerLoop() {
        return copy(chooser.clients);
    }

    /** Each loop's smoothed CPU use in thousandths of a core, for tests and diagnostics. */
    int[] loadPerLoop() {
        return copy(chooser.load);
    }

    private static int[] copy(AtomicIntegerArray a) {
        int[] out = new int[a.length()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i);
        }
        return out;
    }

    static final class Chooser implements EventExecutorChooser {
        private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

        private final EventExecutor[] executors;
        private final Map<EventExecutor, Integer> index = new IdentityHashMap<>();
        private final int packSize;
        /** 0 when placing by count only: asked for, or the JVM cannot measure thread CPU time. */
        final int busyPermille;
        final AtomicIntegerArray clients;
        /** Smoothed CPU use per loop, thousandths of a core; written by {@link #sample} only. */
        final AtomicIntegerArray load;
        /** Loop thread ids, 0 until known; CPU nanoseconds and time at the last sample. */
        private final long[] threadIds;
        private final long[] lastCpu;
        private long lastNanos;

        Chooser(EventExecutor[] executors, int packSize, int busyPermille) {
            this.executors = executors.clone();
            this.packSize = packSize;
            this.busyPermille = busyPermille > 0 && cpuTimeMeasurable() ? busyPermille : 0;
            this.clients = new AtomicIntegerArray(executors.length);
            this.load = new AtomicIntegerArray(executors.length);
            this.threadIds = new long[executors.length];
            this.lastCpu = new long[executors.length];
            Arrays.fill(lastCpu, -1);
            for (int i = 0; i < executors.length; i++) {
                index.put(executors[i], i);
            }
        }

        private static boolean cpuTimeMeasurable() {
            try {
                return THREADS.isThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled();
            } catch (UnsupportedOperationException e) {
                return false;
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
                if (n < packSize || load.get(i) < busyPermille) {
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

        void sample(long now) {
            long wall = now - lastNanos;
            lastNanos = now;
            for (int i = 0; i < executors.length; i++) {
                long cpu = cpuNanos(i);
                long before = lastCpu[i];
                lastCpu[i] = cpu;
                if (cpu < 0 || before < 0 || wall <= 0) {
                    continue;
                }
                long measured = Math.min(1000, (cpu - before) * 1000 / wall);
                // Half the last window, half the history: a burst shows within two samples, one
                // quiet window does not make a busy loop look idle.
                load.set(i, (int) ((load.get(i) + measured) / 2));
            }
        }

        /** CPU time of loop {@code i}'s thread, or -1 when it is not running. */
        private long cpuNanos(int i) {
            if (threadIds[i] == 0) {
                if (!(executors[i] instanceof SingleThreadEventExecutor e) || e.isShuttingDown()) {
                    return -1;
                }
                try {
                    // Starts the loop's thread if it has not started yet, and waits for it.
                    threadIds[i] = e.threadProperties().id();
                } catch (RuntimeException stopping) {
                    return -1;
                }
            }
            return THREADS.getThreadCpuTime(threadIds[i]);
        }
    }
}
