package io.sluice.protocol;

import io.netty.util.internal.PlatformDependent;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Memory that what clients send after they log in may make Sluice hold, for all connections
 * together: one per process, since the memory it protects is one per process. Three clients that
 * each sent a 100 MB Parse once took all the direct memory, and every other connection's buffers
 * with it.
 *
 * <p>Bytes are taken as they are held, so a length field alone holds nothing, and no one message
 * may take more than a quarter of a budget: one client cannot shut out all the others. The rest
 * of the traffic is relayed as it comes and needs none of this. Atomic: every event loop takes
 * from it.
 */
public final class MemoryBudget {
    /**
     * For messages assembled from pieces because they must be held whole (a named Parse or Bind
     * that Sluice rewrites): a quarter of the direct memory the JVM allows
     * (-XX:MaxDirectMemorySize, by default the heap size). The rest stays for what each
     * connection buffers on its way through (bounded by the write high-water marks) and the
     * transport's read buffers. Server messages Sluice reads whole (at most 1 MB each, from
     * servers it chose) and start-up messages (at most 10 kB, from at most max_client_conn
     * sockets) are bounded on their own ({@link #NONE}).
     */
    public static final MemoryBudget ASSEMBLY =
            new MemoryBudget(Math.max(16L << 20, PlatformDependent.maxDirectMemory() / 4));

    /**
     * For the text of the named prepared statements clients keep (transaction and statement
     * modes), which Sluice must hold to prepare them again on other servers: a quarter of the
     * heap. Without it, a client preparing ever more statements grew the heap without end.
     */
    public static final MemoryBudget STATEMENTS =
            new MemoryBudget(Math.max(16L << 20, Runtime.getRuntime().maxMemory() / 4));

    /** No limit but the message caps of the scanner itself. */
    public static final MemoryBudget NONE = new MemoryBudget(Long.MAX_VALUE);

    private final long limit;
    private final AtomicLong used = new AtomicLong();

    public MemoryBudget(long limit) {
        this.limit = limit;
    }

    public long limit() {
        return limit;
    }

    /** The most one message (or statement) may take: a quarter of the budget. */
    public long maxMessage() {
        return limit / 4;
    }

    public long used() {
        return used.get();
    }

    /** Takes {@code bytes} if they fit; false (and nothing taken) if not. */
    public boolean reserve(long bytes) {
        while (true) {
            long u = used.get();
            if (u + bytes > limit) {
                return false;
            }
            if (used.compareAndSet(u, u + bytes)) {
                return true;
            }
        }
    }

    public void release(long bytes) {
        used.addAndGet(-bytes);
    }
}
