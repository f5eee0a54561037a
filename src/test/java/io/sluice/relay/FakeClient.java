package io.sluice.relay;

import static org.assertj.core.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A client of Sluice over a LocalChannel: sends raw frontend bytes, whole or one byte per
 * write and flush (so Sluice reads every message cut at every byte), and collects the backend
 * messages it receives as {@link Wire#describeBackend} strings. Waits are bounded: a reply that
 * does not come fails the test in seconds instead of hanging it.
 */
final class FakeClient implements AutoCloseable {
    /** How the client's bytes reach Sluice. */
    enum Split {
        /** Each {@link #send} as one write. */
        WHOLE,
        /** One write and flush per byte: every message cut at every byte. */
        BYTES
    }

    static final long WAIT_SECONDS = 5;
    /** Queued after the last message when the connection closes. */
    static final String CLOSED = "<closed>";

    final Channel channel;
    final Split split;
    private final LinkedBlockingQueue<String> received;
    private final CompletableFuture<Void> closed;
    /** The process id and secret key of the BackendKeyData Sluice sent, for a CancelRequest. */
    volatile int[] cancelKey;

    private FakeClient(Channel channel, Split split, LinkedBlockingQueue<String> received,
            CompletableFuture<Void> closed) {
        this.channel = channel;
        this.split = split;
        this.received = received;
        this.closed = closed;
    }

    /** The client end's pipeline: frames backend messages into {@code received}. */
    static FakeClient attach(Channel ch, Split split) {
        LinkedBlockingQueue<String> received = new LinkedBlockingQueue<>();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        FakeClient[] client = new FakeClient[1];
        ch.pipeline().addLast(new ByteToMessageDecoder() {
            @Override
            protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                while (in.readableBytes() >= 5 && in.readableBytes() >= 1 + in.getInt(in.readerIndex() + 1)) {
                    byte type = in.readByte();
                    ByteBuf body = in.readSlice(in.readInt() - 4);
                    if (type == 'K') {
                        client[0].cancelKey = new int[] {body.getInt(body.readerIndex()), body.getInt(body.readerIndex() + 4)};
                    }
                    received.add(Wire.describeBackend(type, body));
                }
            }

            @Override
            protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
                decode(ctx, in, out);
                if (in.isReadable()) {
                    // A message cut off by the close: the client saw a broken stream.
                    received.add("partial:" + (char) in.getByte(in.readerIndex()) + ":" + in.readableBytes());
                    in.skipBytes(in.readableBytes());
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) throws Exception {
                try {
                    super.channelInactive(ctx);
                } finally {
                    received.add(CLOSED);
                    closed.complete(null);
                }
            }
        });
        client[0] = new FakeClient(ch, split, received, closed);
        return client[0];
    }

    /** Sends {@code bytes} as this client's {@link Split} says; returns once written. */
    void send(byte[]... messages) {
        byte[] bytes = Wire.concat(messages);
        if (split == Split.WHOLE) {
            sendCut(bytes, 0);
            return;
        }
        channel.eventLoop().submit(() -> {
            for (byte b : bytes) {
                channel.writeAndFlush(channel.alloc().buffer(1).writeByte(b));
            }
        }).syncUninterruptibly();
    }

    /** Sends {@code bytes} as two writes, cut before byte {@code cut} (0: one write). */
    void sendCut(byte[] bytes, int cut) {
        channel.eventLoop().submit(() -> {
            if (cut > 0) {
                channel.writeAndFlush(channel.alloc().buffer(cut).writeBytes(bytes, 0, cut));
            }
            channel.writeAndFlush(channel.alloc().buffer(bytes.length - cut).writeBytes(bytes, cut, bytes.length - cut));
        }).syncUninterruptibly();
    }

    /** Logs in (auth_type trust): the StartupMessage, then everything up to the first ReadyForQuery. */
    List<String> login(String user, String database, String... parameters) {
        send(Wire.startup(user, database, parameters));
        return untilReady();
    }

    /** The next backend message, or {@link #CLOSED} after the last; fails the test if none comes in time. */
    String next() {
        String m;
        try {
            m = received.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
        if (m == null) {
            fail("no backend message within " + WAIT_SECONDS + " s");
        }
        if (m.equals(CLOSED)) {
            // Stays the last thing this client will ever read.
            received.add(CLOSED);
        }
        return m;
    }

    /** Messages up to and including the next ReadyForQuery; fails the test at a close before it. */
    List<String> untilReady() {
        List<String> out = new ArrayList<>();
        while (true) {
            String m = next();
            if (m.equals(CLOSED)) {
                fail("closed before ReadyForQuery; got " + out);
            }
            out.add(m);
            if (m.startsWith("Z:")) {
                return out;
            }
        }
    }

    /** Everything received until Sluice closes the connection; fails the test if it stays open. */
    List<String> untilClosed() {
        List<String> out = new ArrayList<>();
        while (true) {
            String m;
            try {
                m = received.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
            if (m == null) {
                fail("still open after " + WAIT_SECONDS + " s; got " + out);
            }
            if (m.equals(CLOSED)) {
                received.add(CLOSED);
                return out;
            }
            out.add(m);
        }
    }

    /** What has arrived so far, without waiting (without the close marker). */
    List<String> drain() {
        List<String> out = new ArrayList<>();
        received.drainTo(out);
        if (out.remove(CLOSED)) {
            received.add(CLOSED);
        }
        return out;
    }

    boolean isClosed() {
        return closed.isDone();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        closed.orTimeout(WAIT_SECONDS, TimeUnit.SECONDS).join();
    }
}
