package io.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.sluice.testing.LeakCheck;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class MessageScannerTest {

    /** Records what the scanner passes on and shows, as a peer and the session would see it. */
    static class Recorder implements MessageScanner.Sink {
        final ByteArrayOutputStream forwarded = new ByteArrayOutputStream();
        final List<String> messages = new ArrayList<>();
        /** For each inspected message: the forwarded byte count when it was shown. */
        final List<Integer> forwardedAtInspect = new ArrayList<>();

        @Override
        public int classify(byte type, int bodyLength, ByteBuf in) {
            switch (type) {
                case 'Z':
                case 'S':
                    return MessageScanner.INSPECT;
                case 'X':
                case 'p':
                    return MessageScanner.CONSUME;
                case 'C':
                    return MessageScanner.OBSERVE;
                default:
                    return MessageScanner.PASS;
            }
        }

        @Override
        public boolean onMessage(byte type, ByteBuf body) {
            messages.add((char) type + ":" + body.toString(StandardCharsets.ISO_8859_1));
            if (type == 'Z' || type == 'S') {
                forwardedAtInspect.add(forwarded.size());
            }
            return true;
        }

        @Override
        public void forward(ByteBuf run) {
            try {
                forwarded.writeBytes(ByteBufUtil.getBytes(run));
            } finally {
                run.release();
            }
        }
    }

    private static byte[] msg(char type, String body) {
        byte[] b = body.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuf buf = Unpooled.buffer();
        buf.writeByte(type).writeInt(4 + b.length).writeBytes(b);
        byte[] out = ByteBufUtil.getBytes(buf);
        buf.release();
        return out;
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            o.writeBytes(p);
        }
        return o.toByteArray();
    }

    private static final byte[] ROW = msg('D', "row-data-1");
    private static final byte[] PARAM = msg('S', "TimeZone\0UTC\0");
    private static final byte[] PASSWORD = msg('p', "secret\0");
    private static final byte[] EMPTY = msg('I', "");
    private static final byte[] READY = msg('Z', "I");
    private static final byte[] TERMINATE = msg('X', "");
    private static final byte[] COMPLETE = msg('C', "SELECT 1\0");
    private static final byte[] STREAM = concat(ROW, PARAM, PASSWORD, ROW, EMPTY, READY, TERMINATE, ROW, COMPLETE,
            READY);
    private static final byte[] EXPECTED_FORWARD = concat(ROW, PARAM, ROW, EMPTY, READY, ROW, COMPLETE, READY);
    private static final List<String> EXPECTED_MESSAGES = List.of(
            "S:TimeZone\0UTC\0", "p:secret\0", "Z:I", "X:", "C:SELECT 1\0", "Z:I");

    private static Recorder feed(byte[] data, int[] cuts) {
        Recorder r = new Recorder();
        MessageScanner scanner = new MessageScanner(PooledByteBufAllocator.DEFAULT, 1 << 20, 1024);
        int prev = 0;
        for (int i = 0; i <= cuts.length; i++) {
            int end = i < cuts.length ? cuts[i] : data.length;
            ByteBuf in = PooledByteBufAllocator.DEFAULT.buffer(end - prev);
            in.writeBytes(data, prev, end - prev);
            scanner.scan(in, r);
            prev = end;
        }
        assertThat(scanner.atBoundary()).isTrue();
        scanner.release();
        return r;
    }

    private static void assertSeenAsWhole(Recorder r) {
        assertThat(r.forwarded.toByteArray()).isEqualTo(EXPECTED_FORWARD);
        assertThat(r.messages).isEqualTo(EXPECTED_MESSAGES);
        // Each inspected message was shown only after all bytes up to its end were passed on.
        int paramEnd = ROW.length + PARAM.length;
        int firstReadyEnd = ROW.length + PARAM.length + ROW.length + EMPTY.length + READY.length;
        assertThat(r.forwardedAtInspect).containsExactly(paramEnd, firstReadyEnd, EXPECTED_FORWARD.length);
    }

    @Test
    void wholeStream() {
        assertSeenAsWhole(feed(STREAM, new int[0]));
    }

    @Test
    void splitAtEveryByte() {
        for (int cut = 1; cut < STREAM.length; cut++) {
            assertSeenAsWhole(feed(STREAM, new int[] {cut}));
        }
    }

    @Test
    void oneByteAtATime() {
        int[] cuts = new int[STREAM.length - 1];
        for (int i = 0; i < cuts.length; i++) {
            cuts[i] = i + 1;
        }
        assertSeenAsWhole(feed(STREAM, cuts));
    }

    @Test
    void randomChunks() {
        Random rnd = new Random(42);
        for (int round = 0; round < 200; round++) {
            List<Integer> cuts = new ArrayList<>();
            int pos = 0;
            while (true) {
                pos += 1 + rnd.nextInt(9);
                if (pos >= STREAM.length) {
                    break;
                }
                cuts.add(pos);
            }
            assertSeenAsWhole(feed(STREAM, cuts.stream().mapToInt(Integer::intValue).toArray()));
        }
    }

    @Test
    void passedMessagesLargerThanTheCollectCapStreamThrough() {
        byte[] big = msg('D', "x".repeat(100_000));
        byte[] data = concat(big, READY);
        Recorder r = feed(data, new int[] {3, 4096, 50_000, 99_000});
        assertThat(r.forwarded.toByteArray()).isEqualTo(data);
        assertThat(r.messages).containsExactly("Z:I");
    }

    @Test
    void lengthBelowFourIsAProtocolError() {
        ByteBuf in = Unpooled.buffer().writeByte('Q').writeInt(3);
        MessageScanner scanner = new MessageScanner(PooledByteBufAllocator.DEFAULT, 1 << 20, 1024);
        assertThatThrownBy(() -> scanner.scan(in, new Recorder()))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("invalid message length 3");
        assertThat(in.refCnt()).isZero();
    }

    @Test
    void lengthAboveMaxPacketSizeIsRejectedBeforeBuffering() {
        ByteBuf in = Unpooled.buffer().writeByte('Q').writeInt(2_000_000_000);
        MessageScanner scanner = new MessageScanner(PooledByteBufAllocator.DEFAULT, 1 << 20, 1024);
        assertThatThrownBy(() -> scanner.scan(in, new Recorder()))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("exceeds max_packet_size");
        assertThat(in.refCnt()).isZero();
    }

    @Test
    void inspectedMessageOverTheCollectCapIsRejected() {
        ByteBuf in = Unpooled.buffer().writeByte('p').writeInt(5000);
        MessageScanner scanner = new MessageScanner(PooledByteBufAllocator.DEFAULT, 1 << 20, 1024);
        assertThatThrownBy(() -> scanner.scan(in, new Recorder()))
                .isInstanceOf(ProtocolException.class).hasMessageContaining("too long");
    }

    private static MessageScanner scanner(MemoryBudget budget) {
        return new MessageScanner(PooledByteBufAllocator.DEFAULT, 1 << 20, 1 << 20, budget);
    }

    @Test
    void messagesAssembledTogetherStayWithinTheBudgetAndAStreamOverItIsRefusedThenDropped() {
        MemoryBudget budget = new MemoryBudget(1000);
        byte[] msg = msg('p', "x".repeat(240));
        List<MessageScanner> holding = new ArrayList<>();
        // Five connections each hold 200 bytes of a 240-byte message that comes in pieces.
        for (int i = 0; i < 5; i++) {
            MessageScanner m = scanner(budget);
            m.scan(Unpooled.copiedBuffer(msg, 0, 205), new Recorder());
            holding.add(m);
        }
        assertThat(budget.used()).isEqualTo(1000);
        // A sixth is refused at its first byte, and the rest of its stream is dropped unread.
        MessageScanner refused = scanner(budget);
        Recorder r = new Recorder();
        ByteBuf first = Unpooled.copiedBuffer(msg, 0, 6);
        assertThatThrownBy(() -> refused.scan(first, r)).isInstanceOf(MessageTooLargeException.class)
                .hasMessageContaining("does not fit in the memory Sluice keeps for assembling messages");
        assertThat(first.refCnt()).isZero();
        assertThat(refused.broken()).isTrue();
        ByteBuf rest = Unpooled.copiedBuffer(msg, 6, msg.length - 6);
        refused.scan(rest, r);
        assertThat(rest.refCnt()).isZero();
        assertThat(r.messages).isEmpty();
        assertThat(r.forwarded.size()).isZero();
        assertThat(budget.used()).isEqualTo(1000);
        // Closed connections give their share back; then a message completes and gives its own back.
        for (int i = 1; i < 5; i++) {
            holding.get(i).release();
        }
        assertThat(budget.used()).isEqualTo(200);
        Recorder done = new Recorder();
        holding.get(0).scan(Unpooled.copiedBuffer(msg, 205, msg.length - 205), done);
        assertThat(done.messages).containsExactly("p:" + "x".repeat(240));
        assertThat(budget.used()).isZero();
    }

    @Test
    void oneMessageMayNotTakeMoreThanAQuarterOfTheBudget() {
        MemoryBudget budget = new MemoryBudget(1000);
        ByteBuf header = Unpooled.buffer().writeByte('p').writeInt(4 + 251);
        assertThatThrownBy(() -> scanner(budget).scan(header, new Recorder()))
                .isInstanceOf(MessageTooLargeException.class)
                .hasMessageContaining("is larger than Sluice holds whole");
        assertThat(header.refCnt()).isZero();
        assertThat(budget.used()).isZero();
    }

    @Test
    void aMessageWholeInOneReadNeedsNoBudget() {
        MemoryBudget budget = new MemoryBudget(4000);
        Recorder r = new Recorder();
        scanner(budget).scan(Unpooled.copiedBuffer(msg('p', "x".repeat(600))), r);
        assertThat(r.messages).hasSize(1);
        assertThat(budget.used()).isZero();
    }

    @Test
    void wholeInputPassedOnIsHandedOverWithoutCopy() {
        ByteBuf in = PooledByteBufAllocator.DEFAULT.buffer().writeBytes(concat(ROW, ROW));
        List<ByteBuf> runs = new ArrayList<>();
        MessageScanner scanner = new MessageScanner(PooledByteBufAllocator.DEFAULT, 1 << 20, 1024);
        scanner.scan(in, new Recorder() {
            @Override
            public void forward(ByteBuf run) {
                runs.add(run);
            }
        });
        assertThat(runs).hasSize(1);
        assertThat(runs.get(0)).isSameAs(in);
        runs.get(0).release();
    }

    /** Keeps forwarded runs for the test to look at; {@code stop}/{@code fail} on ReadyForQuery. */
    private static final class Keeper extends Recorder {
        final List<ByteBuf> runs = new ArrayList<>();
        boolean stop;
        boolean fail;

        @Override
        public void forward(ByteBuf run) {
            runs.add(run);
        }

        @Override
        public boolean onMessage(byte type, ByteBuf body) {
            super.onMessage(type, body);
            if (type == 'Z' && fail) {
                throw new IllegalStateException("sink failed");
            }
            return !(type == 'Z' && stop);
        }
    }

    @Test
    void replyEndingInReadyForQueryIsHandedOverWhole() {
        for (String variant : List.of("go", "stop", "fail")) {
            ByteBuf in = PooledByteBufAllocator.DEFAULT.buffer().writeBytes(concat(ROW, COMPLETE, READY));
            MessageScanner scanner = new MessageScanner(PooledByteBufAllocator.DEFAULT, 1 << 20, 1024);
            Keeper k = new Keeper();
            k.stop = variant.equals("stop");
            k.fail = variant.equals("fail");
            if (k.fail) {
                assertThatThrownBy(() -> scanner.scan(in, k)).hasMessage("sink failed");
            } else {
                scanner.scan(in, k);
            }
            // One run, the read itself, whole; and the ReadyForQuery shown after it.
            assertThat(k.runs).hasSize(1);
            assertThat(k.runs.get(0)).isSameAs(in);
            assertThat(ByteBufUtil.getBytes(in)).isEqualTo(concat(ROW, COMPLETE, READY));
            assertThat(k.messages).containsExactly("C:SELECT 1\0", "Z:I");
            // The scanner let go of it: the sink's reference is the only one, on every path.
            assertThat(in.refCnt()).isEqualTo(1);
            in.release();
            scanner.release();
        }
    }

    @Test
    void readyForQueryInTheMiddleOfARead() {
        ByteBuf in = PooledByteBufAllocator.DEFAULT.buffer().writeBytes(concat(ROW, READY, ROW));
        MessageScanner scanner = new MessageScanner(PooledByteBufAllocator.DEFAULT, 1 << 20, 1024);
        Keeper k = new Keeper();
        scanner.scan(in, k);
        assertThat(k.runs).hasSize(2);
        assertThat(ByteBufUtil.getBytes(k.runs.get(0))).isEqualTo(concat(ROW, READY));
        assertThat(ByteBufUtil.getBytes(k.runs.get(1))).isEqualTo(ROW);
        k.runs.forEach(ByteBuf::release);
        assertThat(in.refCnt()).isZero();
    }
}
