package io.sluice.protocol;

import io.netty.util.internal.PlatformDependent;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory every connection together may use to assemble messages that arrive in pieces and
 * must be held whole (a named Parse or Bind that Sluice rewrites, a server's ErrorResponse). One
 * per process, since the direct memory it protects is one per process: three clients that each
 * sent a 100 MB Parse once took all of it, and every other connection's buffers with it.
 *
 * <p>Bytes are taken as they arrive, so a length field alone holds nothing, and no one message
 * may take more than a quarter of it: one client cannot shut out all the others. The rest of
 * the traffic is relayed as it comes and needs none of this. Only what clients send after they
 * logged in counts here; server messages Sluice reads whole (at most 1 MB each, from servers
 * it chose) and start-up messages (at most 10 kB, from at most max_client_conn sockets) are
 * bounded on their own ({@link #NONE}). Atomic: every event loop assembles.
 */
public final class AssemblyBudget {
    /**
     * A quarter of the direct memory the JVM allows (-XX:MaxDirectMemorySize, by default the heap
     * size): the rest stays for what each connection buffers on its way through (bounded by the
     * write high-water marks) and the transport's read buffers.
     */
    public static final AssemblyBudget GLOBAL = new AssemblyBudget(Math.max(16L << 20, PlatformDependent.maxDirectMemory() / 4));

    /** No limit but the message caps of the scanner itself. */
    public static final AssemblyBudget NONE = new AssemblyBudget(Long.MAX_VALUE);

    private final long limit;
    private final AtomicLong used = new AtomicLong();

    public AssemblyBudget(long limit) {
        this.limit = limit;
    }

    public long limit() {
        return limit;
    }

    /** The largest message one connection may assemble: a quarter of the budget. */
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
