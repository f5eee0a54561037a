package io.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.concurrent.DefaultEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Where new clients go, from the clients each loop has and how busy it is. */
class PackingChooserTest {
    private final DefaultEventExecutor[] loops = {new DefaultEventExecutor(), new DefaultEventExecutor()};

    @AfterEach
    void stop() {
        for (DefaultEventExecutor e : loops) {
            e.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    private PackingChooser.Chooser chooser(int pack, int busyPercent) {
        return (PackingChooser.Chooser) new PackingChooser(pack, busyPercent).newChooser(loops);
    }

    private static List<Integer> picks(PackingChooser.Chooser c, int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(c.pick());
        }
        return out;
    }

    @Test
    void byCountOnlyFillsTheFirstLoopThenTheEmptier() {
        PackingChooser.Chooser c = chooser(2, 0);
        assertThat(picks(c, 6)).containsExactly(0, 0, 1, 1, 0, 1);
    }

    @Test
    void aLoopWithHeadroomKeepsTakingClientsPastThePack() {
        PackingChooser.Chooser c = chooser(2, 75);
        assertThat(picks(c, 5)).as("both loops idle: all on the first").containsExactly(0, 0, 0, 0, 0);
        c.load.set(0, 750);
        assertThat(picks(c, 3)).as("the first is busy: the next loop takes them").containsExactly(1, 1, 1);
        c.load.set(1, 900);
        assertThat(picks(c, 3)).as("every loop busy: the one with the fewest clients")
                .containsExactly(1, 1, 0);
        c.load.set(0, 100);
        assertThat(picks(c, 2)).as("the first has headroom again").containsExactly(0, 0);
    }

    @Test
    void aLoopUnderItsPackTakesClientsHoweverBusy() {
        PackingChooser.Chooser c = chooser(3, 50);
        c.load.set(0, 1000);
        c.load.set(1, 1000);
        assertThat(picks(c, 5)).containsExactly(0, 0, 0, 1, 1);
    }

    /**
     * Load is the CPU time a loop's thread used over the window. The window is given, not
     * measured, and the busy loop spins until it has used that much CPU time (not wall time),
     * so a slow or oversubscribed machine gives the same figures.
     */
    @Test
    void loadIsTheLoopThreadsCpuTime() throws Exception {
        PackingChooser.Chooser c = chooser(1, 75);
        long t0 = 1_000_000_000L;
        c.sample(t0);
        CountDownLatch done = new CountDownLatch(1);
        long window = TimeUnit.MILLISECONDS.toNanos(200);
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        loops[0].execute(() -> {
            long start = threads.getCurrentThreadCpuTime();
            while (threads.getCurrentThreadCpuTime() - start < window) {
                Thread.onSpinWait();
            }
            done.countDown();
        });
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        c.sample(t0 + window);
        int[] load = {c.load.get(0), c.load.get(1)};
        // The first window counts half (history starts at 0): a full core is 500 after one sample.
        assertThat(load[0]).as("a loop busy for the whole window, in thousandths of a core: %s", load)
                .isBetween(480, 500);
        assertThat(load[1]).as("an idle loop: %s", load).isLessThan(50);
    }
}
