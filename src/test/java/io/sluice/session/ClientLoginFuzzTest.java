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
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile clients against the front end (StartupDecoder, ClientLogin with ClientAuth for each
 * auth_type, then the session it hands over to) with a scripted PostgreSQL behind it, every
 * input sent whole and cut into reads. The client's answer is whole backend messages that end,
 * if Sluice closes, in a FATAL with a SQLSTATE; a valid start-up is welcomed; the answer does not
 * depend on how the input was cut; nothing escapes a handler, leaks, or is held beyond what the
 * client sent.
 */
@ExtendWith(LeakCheck.class)
class ClientLoginFuzzTest {
    private static final String[] AUTH = {"trust", "plain", "md5", "scram-sha-256"};
    /** The first message a client gets after a valid start-up, per auth_type. */
    private static final String[] FIRST = {"R:0", "R:3", "R:5", "R:10"};
    private static final List<byte[]> OPENINGS = List.of(Seeds.STARTUP,
            Seeds.concat(Seeds.SSL_REQUEST, Seeds.STARTUP), Seeds.concat(Seeds.GSSENC_REQUEST, Seeds.STARTUP),
            Seeds.concat(Seeds.SSL_REQUEST, Seeds.GSSENC_REQUEST, Seeds.SSL_REQUEST, Seeds.STARTUP));

    record Case(int auth, Hostile.Stream stream) {
        static Case random(Random r) {
            int auth = r.nextInt(AUTH.length);
            // Mostly a valid opening and then anything, so that the fuzz gets past the start-up.
            return new Case(auth, r.nextInt(4) == 0 ? Hostile.stream(r, Seeds.frontend(), 4, 4)
                    : Hostile.stream(r, OPENINGS, frontendFor(auth), 4, 0));
        }

        List<Case> smaller() {
            List<Case> out = new ArrayList<>();
            for (Hostile.Stream s : stream.smaller()) {
                out.add(new Case(auth, s));
            }
            return out;
        }

        Config config() {
            return EmbeddedSluice.config("auth_type = " + AUTH[auth], "pool_mode = transaction");
        }

        /** Starts with an opening, unmutated: a start-up Sluice must welcome (or ask to authenticate). */
        boolean validOpening() {
            return stream.parts() != null && !stream.parts().isEmpty() && stream.parts().get(0).seed() < 0;
        }
    }

    /** The frontend seeds, with the right password for plain auth_type among them. */
    private static List<byte[]> frontendFor(int auth) {
        List<byte[]> s = new ArrayList<>(Seeds.frontend());
        if (auth == 1) {
            s.add(Seeds.password(Seeds.PASSWORD));
            s.add(Seeds.password(Seeds.PASSWORD));
        }
        return s;
    }

    /** One client's run: what it read, and whether Sluice left its connection open. */
    record Outcome(List<String> summary, boolean open) {
        /**
         * The login's part, which must not depend on how the input was cut: up to the welcome's
         * ReadyForQuery, or all of it and the close when there is none. After the welcome the
         * session relays, and when a server learns of a client's garbage depends on cuts (in
         * transaction mode, after its ReadyForQuery let the server go, or before).
         */
        List<Object> login() {
            int ready = summary.indexOf("Z:I");
            return ready >= 0 ? List.copyOf(summary.subList(0, ready + 1)) : List.of(summary, open);
        }
    }

    @Test
    void aHostileClientGetsWholeMessagesAndAFatalOrItsLogin() {
        Fuzz.check("ClientLogin: whole messages, FATAL or login", 250, Case::random, Case::smaller, c -> {
            byte[] data = c.stream().bytes();
            List<Object> whole = run(c, List.of(data)).login();
            assertThat(run(c, c.stream().reads()).login()).as("cut into reads").isEqualTo(whole);
            for (List<byte[]> reads : Hostile.everySplit(data, 24)) {
                assertThat(run(c, reads).login()).as("%d reads", reads.size()).isEqualTo(whole);
            }
        });
    }

    /**
     * Found by the fuzz: a query in the read that held the right password was refused ("message
     * type Q sent before authentication completed") while in a later read it was relayed; and a
     * header cut at the end of that read was dropped at the handover, so the session read the
     * rest of the stream out of step. Now every cut gives the login and the query's answer.
     */
    @Test
    void whatFollowsThePasswordIsTheSessionsHoweverTheReadsAreCut() {
        byte[] select = Seeds.msg('Q', Seeds.cstr("SELECT 1"));
        Case c = new Case(1, new Hostile.Stream(null, Seeds.concat(Seeds.STARTUP, Seeds.password(Seeds.PASSWORD),
                select, select), List.of()));
        byte[] data = c.stream().bytes();
        Outcome whole = run(c, List.of(data));
        assertThat(whole.summary()).startsWith("R:3", "R:0")
                .containsSubsequence("K", "Z:I", "C:SELECT 1|", "Z:I", "C:SELECT 1|", "Z:I");
        for (int cut = 1; cut < data.length; cut++) {
            Outcome o = run(c, List.of(Arrays.copyOf(data, cut), Arrays.copyOfRange(data, cut, data.length)));
            assertThat(o.login()).as("cut at %d", cut).isEqualTo(whole.login());
            // Both queries reach the server whole, the second one cut at the end of the password's read too.
            assertThat(o.summary()).as("cut at %d", cut).isEqualTo(whole.summary());
        }
    }

    private static Outcome run(Case c, List<byte[]> reads) {
        byte[] data = c.stream().bytes();
        ClientView view;
        boolean open;
        EmbeddedSluice sluice = new EmbeddedSluice(c.config(), EmbeddedSluice.POSTGRES);
        try {
            EmbeddedSluice.Client client = sluice.connect().send(reads);
            view = client.view();
            open = client.isOpen();
        } finally {
            sluice.close();
        }
        assertThat(sluice.escaped).as("what escaped Sluice's handlers").isEmpty();
        assertThat(sluice.alloc.live()).as("bytes still held once every channel is closed").isZero();
        // What the client sent, Sluice's own answers and the scripted server's: never a length field's worth.
        assertThat(sluice.alloc.peak()).as("most bytes held at once").isLessThanOrEqualTo(64 * 1024 + 4L * data.length);

        view.assertWellFormed();
        if (!open) {
            boolean quietClose = Hostile.asksToClose(data, true);
            if (!quietClose || view.messages.stream().anyMatch(ClientView.Message::isFatal)) {
                view.assertEndsInFatal();
            }
        } else {
            assertThat(view.messages).as("a FATAL means the close").noneMatch(ClientView.Message::isFatal);
        }
        if (c.validOpening()) {
            assertThat(view.summary()).as("answer to a valid start-up").isNotEmpty();
            assertThat(view.messages.get(0).describe()).as("first answer to a valid start-up").isEqualTo(FIRST[c.auth()]);
            if (c.auth() == 0) {
                // trust: the welcome, whole, before anything else can go wrong.
                assertThat(view.indexOf("K")).as("BackendKeyData in %s", view.summary()).isPositive();
                assertThat(view.indexOf("Z:")).as("ReadyForQuery in %s", view.summary()).isGreaterThan(view.indexOf("K"));
                int error = view.indexOf("E:");
                assertThat(error < 0 || error > view.indexOf("Z:")).as("welcome before errors in %s", view.summary())
                        .isTrue();
            }
        }
        return new Outcome(view.summary(), open);
    }
}
