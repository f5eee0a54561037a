package io.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.sluice.testing.Fuzz;
import io.sluice.testing.Hostile;
import io.sluice.testing.LeakCheck;
import io.sluice.testing.MeteredAllocator;
import io.sluice.testing.Seeds;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile typed-message streams (frontend and backend seeds, mutated, and noise) through
 * {@link MessageScanner}, cut into reads every which way and classified at random, checked
 * against a plain model of the framing: what is passed on and what is shown is what the model
 * says, or a prefix of it when the scan fails, and it fails only where the model does, with the
 * same error. Nothing is held beyond what was sent, the budget is given back, nothing leaks.
 */
@ExtendWith(LeakCheck.class)
class MessageScannerFuzzTest {
    private static final int MAX_LENGTH = 70_000;
    private static final int MAX_COLLECT = 2_000;
    private static final List<byte[]> SEEDS = seeds();

    private static List<byte[]> seeds() {
        List<byte[]> s = new ArrayList<>(Seeds.frontend());
        s.addAll(Seeds.backend());
        return s;
    }

    /**
     * A stream, and how the sink treats it: {@code salt} picks each type's action, {@code stopAt}
     * is the shown message after which the sink says stop (-1: never), and {@code budget} the
     * assembly budget (small ones refuse some split messages).
     */
    record Case(Hostile.Stream stream, int salt, int stopAt, long budget) {
        static Case random(Random r) {
            long[] budgets = {Long.MAX_VALUE, 1 << 20, 4_000};
            return new Case(Hostile.stream(r, SEEDS, 5, 6), r.nextInt(), r.nextInt(4) == 0 ? r.nextInt(4) : -1,
                    budgets[r.nextInt(budgets.length)]);
        }

        List<Case> smaller() {
            List<Case> out = new ArrayList<>();
            for (Hostile.Stream s : stream.smaller()) {
                out.add(new Case(s, salt, stopAt, budget));
            }
            if (stopAt >= 0) {
                out.add(new Case(stream, salt, -1, budget));
            }
            if (budget != Long.MAX_VALUE) {
                out.add(new Case(stream, salt, stopAt, Long.MAX_VALUE));
            }
            return out;
        }

        int action(byte type) {
            return Math.floorMod((type & 0xff) * 31 + salt, 4);
        }
    }

    @Test
    void whatIsPassedOnAndShownIsWhatTheFramingSays() {
        Fuzz.check("MessageScanner: as the model frames it", 500, Case::random, Case::smaller, c -> {
            Model expected = Model.of(c);
            check(c, expected, c.stream().reads());
            for (List<byte[]> reads : Hostile.everySplit(c.stream().bytes(), 24)) {
                check(c, expected, reads);
            }
        });
    }

    /** What the scanner must do with the stream read whole, computed from the bytes alone. */
    record Model(byte[] forwarded, List<String> shown, List<Integer> shownEnds, String error, boolean boundary,
            boolean stopped, java.util.Set<Integer> ends) {
        static Model of(Case c) {
            byte[] d = c.stream().bytes();
            ByteArrayOutputStream fwd = new ByteArrayOutputStream();
            List<String> shown = new ArrayList<>();
            List<Integer> ends = new ArrayList<>();
            // Where the messages passed on end: the peer is between two messages there only.
            java.util.Set<Integer> cuts = new java.util.HashSet<>(List.of(0));
            int pos = 0;
            while (pos < d.length) {
                if (d.length - pos < 5) {
                    return new Model(fwd.toByteArray(), shown, ends, null, false, false, cuts);
                }
                byte type = d[pos];
                int length = ((d[pos + 1] & 0xff) << 24) | ((d[pos + 2] & 0xff) << 16) | ((d[pos + 3] & 0xff) << 8)
                        | (d[pos + 4] & 0xff);
                if (length < 4) {
                    return new Model(fwd.toByteArray(), shown, ends, "invalid message length " + length, false, false, cuts);
                }
                if (length > MAX_LENGTH) {
                    return new Model(fwd.toByteArray(), shown, ends,
                            "message length " + length + " exceeds max_packet_size", false, false, cuts);
                }
                int action = c.action(type);
                int body = length - 4;
                if (action != MessageScanner.PASS && body > MAX_COLLECT) {
                    return new Model(fwd.toByteArray(), shown, ends, "too long", false, false, cuts);
                }
                if (action != MessageScanner.PASS && body > c.budget() / 4) {
                    return new Model(fwd.toByteArray(), shown, ends, "larger than Sluice holds whole", false, false, cuts);
                }
                int have = Math.min(body, d.length - pos - 5);
                if (have < body) {
                    // Passed-on bytes go as they come, inspected ones too; consumed ones wait whole.
                    if (action != MessageScanner.CONSUME) {
                        fwd.write(d, pos, 5 + have);
                    }
                    return new Model(fwd.toByteArray(), shown, ends, null, false, false, cuts);
                }
                if (action != MessageScanner.CONSUME) {
                    fwd.write(d, pos, 5 + body);
                    cuts.add(fwd.size());
                }
                if (action != MessageScanner.PASS) {
                    shown.add((char) type + ":" + new String(d, pos + 5, body, StandardCharsets.ISO_8859_1));
                    ends.add(fwd.size());
                    if (shown.size() - 1 == c.stopAt()) {
                        return new Model(fwd.toByteArray(), shown, ends, null, false, true, cuts);
                    }
                }
                pos += 5 + body;
            }
            return new Model(fwd.toByteArray(), shown, ends, null, true, false, cuts);
        }
    }

    /** The sink: records what it is given, as a peer and the session would see it. */
    private static final class Sink implements MessageScanner.Sink {
        final Case c;
        final Model expected;
        final ByteArrayOutputStream forwarded = new ByteArrayOutputStream();
        final List<String> shown = new ArrayList<>();

        Sink(Case c, Model expected) {
            this.c = c;
            this.expected = expected;
        }

        @Override
        public int classify(byte type, int bodyLength, ByteBuf in) {
            return c.action(type);
        }

        @Override
        public boolean onMessage(byte type, ByteBuf body) {
            int i = shown.size();
            shown.add((char) type + ":" + body.toString(StandardCharsets.ISO_8859_1));
            if (c.action(type) == MessageScanner.INSPECT && i < expected.shownEnds().size()) {
                // The peer has every byte up to the end of an inspected message before it is shown.
                assertThat(forwarded.size()).as("bytes passed on when message %d is shown", i)
                        .isGreaterThanOrEqualTo(expected.shownEnds().get(i));
            }
            return i != c.stopAt();
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

    private static void check(Case c, Model expected, List<byte[]> reads) {
        MeteredAllocator alloc = new MeteredAllocator();
        MemoryBudget budget = new MemoryBudget(c.budget());
        MessageScanner scanner = new MessageScanner(alloc, MAX_LENGTH, MAX_COLLECT, budget);
        Sink sink = new Sink(c, expected);
        try {
            scan(c, expected, reads, alloc, budget, scanner, sink);
        } finally {
            scanner.release();
        }
        assertThat(budget.used()).as("budget given back").isZero();
        assertThat(alloc.live()).as("bytes still held").isZero();
    }

    private static void scan(Case c, Model expected, List<byte[]> reads, MeteredAllocator alloc, MemoryBudget budget,
            MessageScanner scanner, Sink sink) {
        String error = null;
        long sent = 0;
        for (byte[] r : reads) {
            sent += r.length;
            ByteBuf in = alloc.buffer(r.length).writeBytes(r);
            try {
                scanner.scan(in, sink);
            } catch (ProtocolException e) {
                error = e.getMessage();
                assertThat(in.refCnt()).as("a failed read is released").isZero();
                assertThat(scanner.broken()).isTrue();
                assertThat(scanner.relayingMessage()).as("peer left with half a message, %d bytes passed on",
                        sink.forwarded.size()).isEqualTo(!expected.ends().contains(sink.forwarded.size()));
                // The connection closes now; a read already on its way is dropped unread.
                ByteBuf late = alloc.buffer(1).writeByte('Q');
                scanner.scan(late, sink);
                assertThat(late.refCnt()).isZero();
                break;
            }
            assertThat(alloc.largest()).as("largest buffer, %d bytes sent", sent).isLessThanOrEqualTo(2 * sent + 8192);
            assertThat(budget.used()).as("budget taken").isLessThanOrEqualTo(Math.min(c.budget(), sent));
            if (sink.shown.size() <= c.stopAt() || c.stopAt() < 0) {
                assertThat(scanner.relayingMessage()).as("peer left with half a message, %d bytes passed on",
                        sink.forwarded.size()).isEqualTo(!expected.ends().contains(sink.forwarded.size()));
            }
            if (sink.shown.size() > c.stopAt() && c.stopAt() >= 0) {
                break;
            }
        }
        byte[] fwd = sink.forwarded.toByteArray();
        if (error == null && !expected.stopped()) {
            assertThat(fwd).as("bytes passed on").isEqualTo(expected.forwarded());
            assertThat(sink.shown).as("messages shown").isEqualTo(expected.shown());
            assertThat(scanner.atBoundary()).as("at a boundary").isEqualTo(expected.boundary());
        } else {
            // A failed or stopped scan drops the rest of its read: a prefix of the model's.
            assertThat(fwd.length).as("bytes passed on").isLessThanOrEqualTo(expected.forwarded().length);
            assertThat(fwd).as("bytes passed on").isEqualTo(java.util.Arrays.copyOf(expected.forwarded(), fwd.length));
            assertThat(sink.shown.size()).as("messages shown").isLessThanOrEqualTo(expected.shown().size());
            assertThat(sink.shown).as("messages shown").isEqualTo(expected.shown().subList(0, sink.shown.size()));
        }
        if (error != null) {
            boolean budgetRefusal = error.contains("does not fit in the memory");
            if (expected.error() != null && !budgetRefusal) {
                assertThat(error).as("error").contains(expected.error());
            } else {
                // Only a message assembled from pieces takes budget, so cuts decide whether it runs out.
                assertThat(budgetRefusal).as("unexpected error: " + error).isTrue();
                assertThat(c.budget()).isLessThan(Long.MAX_VALUE);
            }
        } else if (!expected.stopped()) {
            assertThat(expected.error()).as("error the scan should have raised").isNull();
        }
    }
}
