package io.sluice.testing;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.UnpooledHeapByteBuf;

/**
 * An allocator for fuzzed channels that measures what the code under test holds: the bytes its
 * buffers hold now ({@link #live}), the most they held at once ({@link #peak}) and the largest
 * single array asked for ({@link #largest}), growths included. After a channel is finished and
 * everything read from it released, {@link #live} must be 0: an exact leak check per input,
 * beside Netty's paranoid detector. Every buffer is leak-tracked, heap ones too.
 *
 * <p>An array above {@link #REFUSED} is refused with an OutOfMemoryError, as a JVM would refuse
 * it, so a length field believed does not take the test JVM down; {@link #largest} still says it
 * was asked for. Single-threaded, like the EmbeddedChannel it serves.
 */
public final class MeteredAllocator extends AbstractByteBufAllocator {
    /** Arrays larger than this are refused outright: no fuzz input is anywhere near it. */
    public static final int REFUSED = 64 << 20;

    private long live;
    private long peak;
    private long largest;

    public MeteredAllocator() {
        super(false);
    }

    /** Bytes held by buffers of this allocator that are not released yet. */
    public long live() {
        return live;
    }

    /** The most {@link #live} has been. */
    public long peak() {
        return peak;
    }

    /** The largest array asked for, refused or not. */
    public long largest() {
        return largest;
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return toLeakAwareBuffer(new Metered(this, initialCapacity, maxCapacity));
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        // Heap arrays are what can be counted; nothing in Sluice needs direct memory to work.
        return newHeapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    private void took(int n) {
        largest = Math.max(largest, n);
        if (n > REFUSED) {
            throw new OutOfMemoryError("MeteredAllocator refuses an array of " + n + " bytes");
        }
        live += n;
        peak = Math.max(peak, live);
    }

    private void gave(int n) {
        live -= n;
    }

    /** Counts its array as it is made, grown and freed. */
    private static final class Metered extends UnpooledHeapByteBuf {
        Metered(ByteBufAllocator alloc, int initialCapacity, int maxCapacity) {
            super(alloc, initialCapacity, maxCapacity);
        }

        @Override
        protected byte[] allocateArray(int initialCapacity) {
            // alloc() is set before the first array is made (UnpooledHeapByteBuf's constructor).
            ((MeteredAllocator) alloc()).took(initialCapacity);
            return super.allocateArray(initialCapacity);
        }

        @Override
        protected void freeArray(byte[] array) {
            ((MeteredAllocator) alloc()).gave(array.length);
            super.freeArray(array);
        }
    }
}
