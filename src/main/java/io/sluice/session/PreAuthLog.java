package io.sluice.session;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rations the log lines about clients that have not logged in: anyone can open connections and
 * fail logins as fast as the network allows, and each used to cost a line (with whatever user
 * name it sent): 12,000 such connections wrote 120 MB of log. At most {@link #PER_SECOND} lines
 * a second over all event loops; the rest are counted and the count logged in the next second
 * that has a line. Shared by every loop, hence atomics; taken only on the failure paths.
 */
final class PreAuthLog {
    private static final Logger log = LoggerFactory.getLogger(ClientLogin.class);
    static final int PER_SECOND = 20;

    private final AtomicLong second = new AtomicLong(-1);
    private final AtomicInteger inSecond = new AtomicInteger();
    private final AtomicInteger leftOut = new AtomicInteger();

    /** Logs at INFO, unless this second's ration is spent. */
    void info(String format, Object... args) {
        if (ration()) {
            log.info(format, args);
        }
    }

    /** Logs at WARN, unless this second's ration is spent. */
    void warn(String format, Object... args) {
        if (ration()) {
            log.warn(format, args);
        }
    }

    private boolean ration() {
        long now = System.nanoTime() / 1_000_000_000L;
        long was = second.get();
        if (now != was && second.compareAndSet(was, now)) {
            inSecond.set(0);
            int n = leftOut.getAndSet(0);
            if (n > 0) {
                log.info("{} more lines about clients that had not logged in were left out (at most {} a second)",
                        n, PER_SECOND);
            }
        }
        if (inSecond.incrementAndGet() <= PER_SECOND) {
            return true;
        }
        leftOut.incrementAndGet();
        return false;
    }
}
