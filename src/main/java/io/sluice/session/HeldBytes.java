package io.sluice.session;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;

/**
 * Client reads kept as they came while the client has no server to send them to (it waits for
 * one, or for a parameter sync): read again once one is linked, since what they turn into
 * (prepared statements above all) depends on that server. The deque is made on first use: most
 * clients never hold anything.
 */
final class HeldBytes {
    private ArrayDeque<ByteBuf> reads;
    private int bytes;

    /** Keeps {@code buf}, which this now owns. */
    void add(ByteBuf buf) {
        if (reads == null) {
            reads = new ArrayDeque<>(2);
        }
        reads.addLast(buf);
        bytes += buf.readableBytes();
    }

    /** The oldest read, the caller's from here on; null when none is held. */
    ByteBuf poll() {
        ByteBuf b = reads == null ? null : reads.pollFirst();
        if (b != null) {
            bytes -= b.readableBytes();
        }
        return b;
    }

    /** Bytes held now. */
    int bytes() {
        return bytes;
    }

    /** Releases whatever is held (the client is gone, or failed). */
    void release() {
        ByteBuf b;
        while ((b = poll()) != null) {
            b.release();
        }
        bytes = 0;
    }
}
