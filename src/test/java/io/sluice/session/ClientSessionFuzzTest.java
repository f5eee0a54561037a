package io.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.Config;
import io.sluice.testing.ClientView;
import io.sluice.testing.EmbeddedSluice;
import io.sluice.testing.Fuzz;
import io.sluice.testing.Hostile;
import io.sluice.testing.LeakCheck;
import io.sluice.testing.Seeds;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile clients after their login: runs of frontend messages of every type (the extended
 * protocol, COPY, function calls, prepared statements by name), mutated and cut into reads, to a
 * session in each pool mode, with and without prepared statement tracking, relayed to a scripted
 * PostgreSQL. The client gets whole backend messages, and a FATAL with a SQLSTATE at any close
 * Sluice makes; nothing escapes a handler, leaks, or is held beyond what was sent; and once the
 * hostile client is gone, the pool's one server (or a new one) serves the next client.
 */
@ExtendWith(LeakCheck.class)
class ClientSessionFuzzTest {
    private static final String[][] MODES = {
        {"pool_mode = session"},
        {"pool_mode = transaction"},
        {"pool_mode = transaction", "max_prepared_statements = 0"},
        {"pool_mode = statement"}};
    private static final byte[] SELECT = Seeds.msg('Q', Seeds.cstr("SELECT 1"));
    private static final byte[] TERMINATE = {'X', 0, 0, 0, 4};

    record Case(int mode, Hostile.Stream stream) {
        static Case random(Random r) {
            return new Case(r.nextInt(MODES.length), Hostile.stream(r, Seeds.frontend(), 6, 8));
        }

        List<Case> smaller() {
            List<Case> out = new ArrayList<>();
            for (Hostile.Stream s : stream.smaller()) {
                out.add(new Case(mode, s));
            }
            return out;
        }

        Config config() {
            String[] settings = new String[MODES[mode].length + 1];
            settings[0] = "auth_type = trust";
            System.arraycopy(MODES[mode], 0, settings, 1, MODES[mode].length);
            return EmbeddedSluice.config(settings);
        }
    }

    @Test
    void aHostileSessionGetsWholeMessagesAndAFatalAndThePoolServesTheNextClient() {
        Fuzz.check("ClientSession: whole messages, FATAL, pool still serves", 200, Case::random, Case::smaller, c -> {
            run(c, c.stream().reads());
            for (List<byte[]> reads : Hostile.everySplit(c.stream().bytes(), 16)) {
                run(c, reads);
            }
        });
    }

    /**
     * Found by the fuzz (transaction mode): a query, then the start of a message that asks for
     * no reply (here CopyData, 100 bytes, 10 sent). The query's ReadyForQuery gave the server back
     * to the pool with that half message in it; the next client's query became its rest, and that
     * client waited for ever. Now the server stays with the client until the message is whole (or
     * is closed with it, when the client leaves first).
     */
    @Test
    void aServerHoldingHalfAClientMessageIsNotGivenToTheNextClient() {
        byte[] copyData = Seeds.concat(new byte[] {'d'}, Seeds.int32(104), new byte[100]);
        byte[] start = Seeds.concat(SELECT, java.util.Arrays.copyOf(copyData, 15));
        byte[] rest = java.util.Arrays.copyOfRange(copyData, 15, copyData.length);
        for (boolean finish : new boolean[] {true, false}) {
            EmbeddedSluice sluice = new EmbeddedSluice(new Case(2, null).config(), EmbeddedSluice.postgres());
            try {
                EmbeddedSluice.Client first = sluice.connect().send(List.of(Seeds.STARTUP, start));
                assertThat(first.view().summary()).endsWith("Z:I", "C:SELECT 1|", "Z:I");
                EmbeddedSluice.Client next = sluice.connect().send(List.of(Seeds.STARTUP, SELECT));
                assertThat(next.view().summary()).as("waits for the one server").endsWith("K", "Z:I");
                if (finish) {
                    first.send(List.of(rest));
                } else {
                    first.close();
                }
                assertThat(next.view().summary()).as(finish ? "message finished" : "client gone")
                        .endsWith("Z:I", "C:SELECT 1|", "Z:I");
                assertThat(sluice.serverCount()).isEqualTo(finish ? 1 : 2);
            } finally {
                sluice.close();
            }
            assertThat(sluice.escaped).isEmpty();
            assertThat(sluice.alloc.live()).isZero();
        }
    }

    /**
     * Found by the fuzz (transaction mode): a message of a type no frontend sends after login
     * (here 'p'), then Terminate. Sluice relayed the 'p' (it owes no reply), the Terminate gave
     * the server back, and PostgreSQL's FATAL for the 'p' reached the next client, with "server
     * conn crashed?". Sluice now refuses such a type itself, as PostgreSQL and PgBouncer do.
     */
    @Test
    void aMessageTypeNoFrontendSendsEndsThatClientNotTheNext() {
        byte[] p = Seeds.msg('p', "c=biws,r=abcdef".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        for (int mode = 0; mode < MODES.length; mode++) {
            EmbeddedSluice sluice = new EmbeddedSluice(new Case(mode, null).config(), EmbeddedSluice.postgres());
            try {
                EmbeddedSluice.Client first = sluice.connect().send(List.of(Seeds.STARTUP, p, TERMINATE));
                assertThat(first.view().summary()).as(MODES[mode][0]).endsWith("Z:I",
                        "E:FATAL:08P01:invalid frontend message type 112");
                assertThat(first.isOpen()).isFalse();
                EmbeddedSluice.Client next = sluice.connect().send(List.of(Seeds.STARTUP, SELECT));
                assertThat(next.view().summary()).as(MODES[mode][0]).endsWith("Z:I", "C:SELECT 1|", "Z:I");
            } finally {
                sluice.close();
            }
            assertThat(sluice.escaped).isEmpty();
            assertThat(sluice.alloc.live()).isZero();
        }
    }

    /**
     * Sync, Flush and CopyDone have no body. PostgreSQL answers one with a body with an ERROR
     * that no ReadyForQuery follows, which Sluice would not count as owed: in transaction mode
     * it could reach the next client of the server. Sluice ends that client itself.
     */
    @Test
    void aSyncOrFlushWithABodyEndsThatClient() {
        for (char type : new char[] {'S', 'H', 'c'}) {
            byte[] bad = Seeds.msg(type, new byte[] {1, 2, 3});
            EmbeddedSluice sluice = new EmbeddedSluice(new Case(1, null).config(), EmbeddedSluice.postgres());
            try {
                EmbeddedSluice.Client first = sluice.connect().send(List.of(Seeds.STARTUP, bad));
                assertThat(first.view().summary()).as("type " + type).endsWith("Z:I",
                        "E:FATAL:08P01:invalid message format: message type " + type + " with a body of 3 bytes");
                assertThat(first.isOpen()).isFalse();
                EmbeddedSluice.Client next = sluice.connect().send(List.of(Seeds.STARTUP, SELECT));
                assertThat(next.view().summary()).endsWith("Z:I", "C:SELECT 1|", "Z:I");
            } finally {
                sluice.close();
            }
            assertThat(sluice.escaped).isEmpty();
            assertThat(sluice.alloc.live()).isZero();
        }
    }

    private static void run(Case c, List<byte[]> reads) {
        byte[] data = c.stream().bytes();
        EmbeddedSluice sluice = new EmbeddedSluice(c.config(), EmbeddedSluice.postgres());
        try {
            EmbeddedSluice.Client hostile = sluice.connect().send(List.of(Seeds.STARTUP));
            assertThat(hostile.view().summary()).as("welcome").endsWith("K", "Z:I");
            hostile.send(reads);
            ClientView view = hostile.view();
            view.assertWellFormed();
            if (!hostile.isOpen()) {
                if (!Hostile.asksToClose(data, false) || view.messages.stream().anyMatch(ClientView.Message::isFatal)) {
                    view.assertEndsInFatal();
                }
            } else {
                assertThat(view.messages).as("a FATAL means the close").noneMatch(ClientView.Message::isFatal);
            }

            // Gone, the hostile client leaves the pool able to serve the next one.
            hostile.close();
            EmbeddedSluice.Client next = sluice.connect().send(List.of(Seeds.STARTUP, SELECT));
            assertThat(next.view().summary()).as("the next client, after %s", view.summary())
                    .endsWith("Z:I", "C:SELECT 1|", "Z:I");
        } finally {
            sluice.close();
        }
        assertThat(sluice.escaped).as("what escaped Sluice's handlers").isEmpty();
        assertThat(sluice.alloc.live()).as("bytes still held once every channel is closed").isZero();
        assertThat(sluice.alloc.peak()).as("most bytes held at once").isLessThanOrEqualTo(64 * 1024 + 4L * data.length);
    }
}
