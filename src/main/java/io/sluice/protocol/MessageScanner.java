package io.sluice.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * Finds typed-message boundaries in one direction of a stream without copying it.
 *
 * <p>This is the relay's frame scanner. Each message header is shown to a {@link Sink}, which
 * says whether the message is passed on untouched, passed on and also shown whole
 * ({@link #INSPECT}: ReadyForQuery, ParameterStatus...), or kept from the peer and shown whole
 * ({@link #CONSUME}: Terminate, password messages). Runs of passed messages leave as one
 * retained slice of the input (or the input buffer itself when all of it passes), so a batch
 * of 100 DataRows is one write. Bodies of passed messages are never buffered: a 500 MB result
 * streams through in whatever pieces the socket delivers. Only inspected and consumed
 * messages are assembled, and only up to {@code maxCollect} bytes, checked against the length
 * field before anything is allocated.
 *
 * <p>Not thread-safe: one per connection direction, used from its event loop.
 */
public final class MessageScanner {
    public static final int PASS = 0;
    /** Passed on, and shown whole after the bytes up to its end have been forwarded. */
    public static final int INSPECT = 1;
    /** Kept from the peer and shown whole. */
    public static final int CONSUME = 2;
    /**
     * Passed on within its run and shown whole, with no ordering promise between the two:
     * for bookkeeping that decides nothing about where bytes go (it splits no run).
     */
    public static final int OBSERVE = 3;

    /** What the scanner reports to: the session or server connection that owns it. */
    public interface Sink {
        /**
         * Decides what happens to a message, from its type and body length (excluding the
         * 4-byte length field). Called once per message, in stream order. {@code in} is
         * positioned at the start of the body, of which any part (or none) may be readable:
         * a peek, not to be consumed or kept.
         */
        int classify(byte type, int bodyLength, ByteBuf in);

        /**
         * A whole inspected or consumed message. {@code body} is valid only during the call;
         * retain it to keep it. For an inspected message, the bytes up to and including it
         * have already been {@link #forward}ed. Return false to stop scanning: the rest of the
         * input is dropped (the connection is going away).
         */
        boolean onMessage(byte type, ByteBuf body);

        /** Bytes to pass on. The sink owns {@code run} and must write or release it. */
        void forward(ByteBuf run);
    }

    private static final int HEADER = 0;
    private static final int BODY_PASS = 1;
    private static final int BODY_COLLECT = 2;

    private final int maxLength;
    private final int maxCollect;
    private final ByteBufAllocator alloc;

    private int state = HEADER;
    /** Header bytes seen so far when a header is split across reads (0..4). */
    private int headerSeen;
    private byte type;
    private int length;
    private int remaining;
    private int action;
    /** Set by {@code complete} when it handed the whole input to the sink: the scan must stop. */
    private boolean wholeForwarded;
    /** Assembles a collected body split across reads; null otherwise. */
    private ByteBuf pending;
    /** A scan failed: see {@link #scan}. */
    private boolean broken;
    /**
     * What was passed on so far ends inside a message: the peer holds its first part. Set at
     * each forward, since a failed or stopped scan drops the run it had not forwarded yet.
     */
    private boolean forwardedMid;
    private final MemoryBudget budget;
    /** Bytes of {@link #budget} held for {@link #pending}. */
    private long reserved;

    /**
     * @param maxLength largest message length field accepted (max_packet_size)
     * @param maxCollect largest body that may be assembled for an inspected or consumed message
     */
    public MessageScanner(ByteBufAllocator alloc, int maxLength, int maxCollect) {
        this(alloc, maxLength, maxCollect, MemoryBudget.ASSEMBLY);
    }

    /** As above, assembling within {@code budget}. */
    public MessageScanner(ByteBufAllocator alloc, int maxLength, int maxCollect, MemoryBudget budget) {
        this.alloc = alloc;
        this.maxLength = maxLength;
        this.maxCollect = maxCollect;
        this.budget = budget;
    }

    /** True when the stream is at a message boundary (nothing partial held or in flight). */
    public boolean atBoundary() {
        return state == HEADER && headerSeen == 0 && !broken;
    }

    /**
     * True in the middle of a message whose first bytes were already passed on: what received
     * them holds half a message, and nothing may be sent after it. Inspected and observed
     * messages are passed on as their bytes come too, and a failed scan drops a run that may
     * hold the rest of one: counting only passed messages here, Sluice's FATAL once followed
     * half of a server's ErrorResponse to the client.
     */
    public boolean relayingMessage() {
        return forwardedMid;
    }

    /** Releases a partly assembled body. Call when the connection closes. */
    public void release() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
        unreserve();
    }

    private void unreserve() {
        if (reserved > 0) {
            budget.release(reserved);
            reserved = 0;
        }
    }

    /**
     * Scans {@code in}, which this method owns from here on: every byte ends in a forward or
     * a release, on every path, exceptions included.
     */
    public void scan(ByteBuf in, Sink sink) {
        if (broken) {
            in.release();
            return;
        }
        boolean handedOver = false;
        wholeForwarded = false;
        boolean done = false;
        try {
            handedOver = scan0(in, sink);
            done = true;
        } finally {
            if (!handedOver && !wholeForwarded) {
                in.release();
            }
            if (!done) {
                // A bad length or a sink's exception: where the next message starts is unknown,
                // so nothing after it may be read as messages. The rest of the read and any later
                // reads (the connection is being closed) are dropped, never relayed: the bytes
                // after an oversized message once reached the client as a message of their own.
                broken = true;
                release();
            }
        }
    }

    /** True once a scan failed: the stream is out of step and every later read is dropped. */
    public boolean broken() {
        return broken;
    }

    /** Returns true when {@code in} itself was forwarded (ownership passed on). */
    private boolean scan0(ByteBuf in, Sink sink) {
        final int first = in.readerIndex();
        // The tail of a consumed message that began in an earlier read is not passed on.
        int runStart = state == BODY_COLLECT && action == CONSUME ? -1 : first;
        while (in.isReadable()) {
            switch (state) {
                case HEADER: {
                    int headerStart = in.readerIndex();
                    boolean split = headerSeen > 0 || in.readableBytes() < 5;
                    if (!split) {
                        type = in.readByte();
                        length = in.readInt();
                    } else if (!readSplitHeader(in)) {
                        // A header tail at the end of this read: hold it back, pass the rest.
                        return flush(in, sink, runStart, headerStart, first);
                    }
                    if (length < 4) {
                        throw new ProtocolException("invalid message length " + length);
                    }
                    if (length > maxLength) {
                        throw new ProtocolException("message length " + length + " exceeds max_packet_size");
                    }
                    remaining = length - 4;
                    action = sink.classify(type, remaining, in);
                    if (action != PASS && remaining > maxCollect) {
                        throw new MessageTooLargeException("message '" + (char) type + "' too long: " + length);
                    }
                    if (action != PASS && remaining > budget.maxMessage()) {
                        throw new MessageTooLargeException("message '" + (char) type + "' of " + length
                                + " bytes is larger than Sluice holds whole (" + (budget.maxMessage() >> 20)
                                + " MB, a quarter of its assembly budget)");
                    }
                    if (split) {
                        // The header began in an earlier read and was held back; whatever of it
                        // lies in this read sits at the start, before any run.
                        boolean flushed = flush(in, sink, runStart, headerStart, first);
                        assert !flushed;
                        runStart = action == CONSUME ? -1 : in.readerIndex();
                        if (action != CONSUME) {
                            forwardedMid = remaining > 0;
                            sink.forward(header());
                        }
                    } else if (action == CONSUME) {
                        boolean flushed = flush(in, sink, runStart, headerStart, first);
                        assert !flushed;
                        runStart = -1;
                    }
                    if (action == PASS) {
                        state = remaining == 0 ? HEADER : BODY_PASS;
                    } else {
                        state = BODY_COLLECT;
                        if (remaining == 0) {
                            boolean go = complete(in, sink, in.readerIndex(), 0, runStart, first);
                            if (wholeForwarded) {
                                return true;
                            }
                            if (!go) {
                                return false;
                            }
                            if (action != OBSERVE) {
                                runStart = in.readerIndex();
                            }
                        }
                    }
                    break;
                }
                case BODY_PASS: {
                    int n = Math.min(remaining, in.readableBytes());
                    in.skipBytes(n);
                    remaining -= n;
                    if (remaining == 0) {
                        state = HEADER;
                    }
                    break;
                }
                default: {
                    int n = Math.min(remaining, in.readableBytes());
                    int bodyStart = in.readerIndex();
                    if (pending == null && n == remaining) {
                        in.skipBytes(n);
                        remaining = 0;
                        boolean go = complete(in, sink, bodyStart, n, runStart, first);
                        if (wholeForwarded) {
                            return true;
                        }
                        if (!go) {
                            return false;
                        }
                    } else {
                        if (pending == null) {
                            // Grows as bytes arrive: a length field claiming a huge size
                            // allocates nothing until the bytes are really sent.
                            pending = alloc.buffer(Math.min(remaining, 8192), remaining);
                        }
                        // Taken from the budget as the bytes arrive (a length field alone holds
                        // nothing): many large messages arriving together must not each grow until
                        // memory runs out, and what is held is what was really sent.
                        if (!budget.reserve(n)) {
                            throw new MessageTooLargeException("message '" + (char) type + "' of " + length
                                    + " bytes does not fit in the memory Sluice keeps for assembling messages ("
                                    + (budget.limit() >> 20) + " MB, all connections together)");
                        }
                        reserved += n;
                        pending.writeBytes(in, n);
                        remaining -= n;
                        if (remaining == 0) {
                            ByteBuf body = pending;
                            pending = null;
                            boolean go;
                            try {
                                go = complete(in, sink, body, true, runStart, first);
                            } finally {
                                body.release();
                                unreserve();
                            }
                            if (wholeForwarded) {
                                return true;
                            }
                            if (!go) {
                                return false;
                            }
                        }
                    }
                    if (remaining == 0 && action != OBSERVE) {
                        runStart = in.readerIndex();
                    }
                    break;
                }
            }
        }
        if (runStart < 0) {
            return false;
        }
        return flush(in, sink, runStart, in.readerIndex(), first);
    }

    private boolean complete(ByteBuf in, Sink sink, int bodyStart, int bodyLength, int runStart, int first) {
        Scratch scratch = SCRATCH.get();
        if (scratch.busy || bodyLength > Scratch.MAX) {
            return complete(in, sink, in.slice(bodyStart, bodyLength), false, runStart, first);
        }
        // The hot case (ReadyForQuery once a transaction): a copy of a few bytes into this
        // thread's scratch buffer instead of a new slice object per message.
        scratch.busy = true;
        try {
            ByteBuf body = scratch.load(in, bodyStart, bodyLength);
            return complete(in, sink, body, true, runStart, first);
        } finally {
            scratch.busy = false;
        }
    }

    /** One per event-loop thread: holds an inspected body during its onMessage call. */
    private static final class Scratch {
        static final int MAX = 1024;
        /** Wrapped, not allocator-made: it lives as long as its thread and is never released. */
        final ByteBuf buf = Unpooled.wrappedBuffer(new byte[MAX]);
        boolean busy;

        ByteBuf load(ByteBuf in, int index, int length) {
            buf.clear();
            in.getBytes(index, buf, length);
            return buf;
        }
    }

    private static final FastThreadLocal<Scratch> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected Scratch initialValue() {
            return new Scratch();
        }
    };

    /**
     * {@code bodyIsCopy}: {@code body} does not share {@code in}'s memory, so {@code in} may be
     * handed over before the sink sees the body.
     */
    private boolean complete(ByteBuf in, Sink sink, ByteBuf body, boolean bodyIsCopy, int runStart, int first) {
        state = HEADER;
        wholeForwarded = false;
        if (action == INSPECT && runStart >= 0) {
            // The peer gets the bytes before the sink reacts (a release at ReadyForQuery must
            // come after the client has its reply queued).
            if (bodyIsCopy && runStart == first && in.readerIndex() == in.writerIndex()) {
                // The usual reply: one read that ends with ReadyForQuery. The read itself goes
                // on, with no slice object and no extra reference count; the caller stops here.
                in.readerIndex(first);
                wholeForwarded = true;
                forwardedMid = false;
                sink.forward(in);
                return sink.onMessage(type, body);
            }
            if (in.readerIndex() > runStart) {
                forwardedMid = false;
                sink.forward(in.retainedSlice(runStart, in.readerIndex() - runStart));
            }
        }
        return sink.onMessage(type, body);
    }

    /** Forwards [start, end) of {@code in}; returns true when that was all of it, handed over whole. */
    private boolean flush(ByteBuf in, Sink sink, int start, int end, int first) {
        if (start < 0 || end <= start) {
            return false;
        }
        // A run ends at a message boundary, or at the end of the read inside a message.
        forwardedMid = end == in.readerIndex() && state != HEADER;
        if (start == first && end == in.writerIndex() && in.readerIndex() == end) {
            in.readerIndex(first);
            sink.forward(in);
            return true;
        }
        sink.forward(in.retainedSlice(start, end - start));
        return false;
    }

    /** Accumulates a header split across reads; true when all 5 bytes are in. */
    private boolean readSplitHeader(ByteBuf in) {
        while (headerSeen < 5 && in.isReadable()) {
            byte b = in.readByte();
            if (headerSeen == 0) {
                type = b;
                length = 0;
            } else {
                length = (length << 8) | (b & 0xff);
            }
            headerSeen++;
        }
        if (headerSeen < 5) {
            return false;
        }
        headerSeen = 0;
        return true;
    }

    /** A split header that is passed on has to be re-made: its first bytes were held back. */
    private ByteBuf header() {
        return alloc.buffer(5).writeByte(type).writeInt(length);
    }
}
