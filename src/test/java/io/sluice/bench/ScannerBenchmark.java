package io.sluice.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sluice.protocol.BackendCodes;
import io.sluice.protocol.MessageScanner;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH microbenchmarks of the frame scanner and the relay path (bench/jmh runs them): a
 * server reply of 100 DataRows and a ReadyForQuery scanned as it arrives, whole or in
 * pieces, and relayed into a channel as Sluice's ServerConnection does.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ScannerBenchmark {
    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private byte[] reply;
    private MessageScanner scanner;
    private CountingSink counting;
    private EmbeddedChannel client;
    private RelaySink relay;

    /** Counts what passes, as the cheapest possible peer. */
    static class CountingSink implements MessageScanner.Sink {
        long bytes;
        int readies;

        @Override
        public int classify(byte type, int bodyLength, ByteBuf in) {
            return type == BackendCodes.READY_FOR_QUERY ? MessageScanner.INSPECT : MessageScanner.PASS;
        }

        @Override
        public boolean onMessage(byte type, ByteBuf body) {
            readies++;
            return true;
        }

        @Override
        public void forward(ByteBuf run) {
            bytes += run.readableBytes();
            run.release();
        }
    }

    /** Writes each run to a channel with the void promise and flushes per batch, as the relay does. */
    static final class RelaySink extends CountingSink {
        final EmbeddedChannel ch;

        RelaySink(EmbeddedChannel ch) {
            this.ch = ch;
        }

        @Override
        public void forward(ByteBuf run) {
            ch.write(run, ch.voidPromise());
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        ByteBuf b = alloc.buffer();
        for (int i = 0; i < 100; i++) {
            byte[] v = ("row value number " + i).getBytes(StandardCharsets.US_ASCII);
            b.writeByte(BackendCodes.DATA_ROW).writeInt(4 + 2 + 4 + v.length).writeShort(1).writeInt(v.length)
                    .writeBytes(v);
        }
        byte[] tag = "SELECT 100\0".getBytes(StandardCharsets.US_ASCII);
        b.writeByte(BackendCodes.COMMAND_COMPLETE).writeInt(4 + tag.length).writeBytes(tag);
        b.writeByte(BackendCodes.READY_FOR_QUERY).writeInt(5).writeByte('I');
        reply = new byte[b.readableBytes()];
        b.readBytes(reply);
        b.release();
        scanner = new MessageScanner(alloc, Integer.MAX_VALUE, 1 << 20);
        counting = new CountingSink();
        // Discards what reaches the head of its pipeline, like a socket would.
        client = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        relay = new RelaySink(client);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        client.finishAndReleaseAll();
    }

    private ByteBuf chunk(int from, int to) {
        return alloc.buffer(to - from).writeBytes(reply, from, to - from);
    }

    /** The whole reply in one read: one run handed over without a copy. */
    @Benchmark
    public long scanWholeReply() {
        scanner.scan(chunk(0, reply.length), counting);
        return counting.bytes;
    }

    /** The reply in reads of 512 bytes, headers split across reads. */
    @Benchmark
    public long scanReplyIn512ByteReads() {
        for (int at = 0; at < reply.length; at += 512) {
            scanner.scan(chunk(at, Math.min(reply.length, at + 512)), counting);
        }
        return counting.bytes;
    }

    /** Scan and relay into a channel, one flush per read batch. */
    @Benchmark
    public long relayWholeReply() {
        scanner.scan(chunk(0, reply.length), relay);
        client.flush();
        for (Object o; (o = client.readOutbound()) != null;) {
            ((ByteBuf) o).release();
        }
        return relay.readies;
    }
}
