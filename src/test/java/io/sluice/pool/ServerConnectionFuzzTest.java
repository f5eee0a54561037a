package io.sluice.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.Config;
import io.sluice.testing.ClientView;
import io.sluice.testing.EmbeddedSluice;
import io.sluice.testing.EmbeddedSluice.Reply;
import io.sluice.testing.Fuzz;
import io.sluice.testing.Hostile;
import io.sluice.testing.LeakCheck;
import io.sluice.testing.Seeds;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile servers: what Sluice's server connections read (ServerLogin's authentication
 * requests, ErrorResponse with or without a SQLSTATE, ParameterStatus, BackendKeyData,
 * ReadyForQuery, SCRAM messages; then the replies it relays), from backend seeds mutated, cut
 * into reads, and followed by a close or not. The waiting client is welcomed or gets a FATAL
 * with a SQLSTATE; nothing escapes a handler, leaks, or is held beyond what was sent; and the
 * pool then serves the next client, from a server that behaves.
 */
@ExtendWith(LeakCheck.class)
class ServerConnectionFuzzTest {
    private static final List<byte[]> LOGINS = List.of(Seeds.welcome(), Seeds.authOk(),
            Seeds.msg('R', Seeds.int32(3)), Seeds.msg('R', Seeds.int32(5), "salt".getBytes(StandardCharsets.UTF_8)),
            Seeds.msg('R', Seeds.int32(10), Seeds.cstr("SCRAM-SHA-256"), new byte[] {0}));
    private static final List<byte[]> REPLIES = List.of(Seeds.msg('C', Seeds.cstr("SELECT 1")),
            Seeds.readyForQuery('I'), Seeds.concat(Seeds.msg('C', Seeds.cstr("SELECT 1")), Seeds.readyForQuery('I')));
    private static final byte[] SELECT = Seeds.msg('Q', Seeds.cstr("SELECT 1"));
    private static final String[] MODES = {"session", "transaction", "statement"};

    /** {@code stream}, the server's hostile bytes; then a close if {@code close}. */
    record Case(int mode, Hostile.Stream stream, boolean close) {
        static Case login(Random r) {
            return new Case(r.nextInt(MODES.length), Hostile.stream(r, LOGINS, Seeds.backend(), 4, 0), true);
        }

        static Case reply(Random r) {
            return new Case(r.nextInt(MODES.length), Hostile.stream(r, REPLIES, Seeds.backend(), 4, 8), r.nextBoolean());
        }

        List<Case> smaller() {
            List<Case> out = new ArrayList<>();
            for (Hostile.Stream s : stream.smaller()) {
                out.add(new Case(mode, s, close));
            }
            if (!close) {
                out.add(new Case(mode, stream, true));
            }
            return out;
        }

        Config config() {
            return EmbeddedSluice.config("auth_type = trust", "pool_mode = " + MODES[mode]);
        }

        Reply hostile(List<byte[]> reads) {
            return new Reply(reads, close);
        }

        /** PostgreSQL's "cannot connect now": waiting clients stay queued for a retry, as in PgBouncer. */
        boolean cannotConnectNow() {
            return new String(stream.bytes(), StandardCharsets.ISO_8859_1).contains("57P03");
        }
    }

    /** A server whose first connection answers its StartupMessage with hostile bytes; later ones behave. */
    private static EmbeddedSluice.Backend hostileLogin(Case c, List<byte[]> reads) {
        EmbeddedSluice.Backend normal = EmbeddedSluice.postgres();
        return new EmbeddedSluice.Backend() {
            @Override
            public Reply login(int connection, Map<String, String> startup) {
                return connection == 0 ? c.hostile(reads) : normal.login(connection, startup);
            }

            @Override
            public Reply message(int connection, byte type, byte[] body) {
                // Sluice's password messages to the hostile server go unanswered: its script is all it says.
                return connection == 0 ? Reply.NONE : normal.message(connection, type, body);
            }
        };
    }

    /** A server whose first connection answers its first query with hostile bytes; the rest behave. */
    private static EmbeddedSluice.Backend hostileReply(Case c, List<byte[]> reads) {
        EmbeddedSluice.Backend normal = EmbeddedSluice.postgres();
        boolean[] sent = new boolean[1];
        return new EmbeddedSluice.Backend() {
            @Override
            public Reply login(int connection, Map<String, String> startup) {
                return normal.login(connection, startup);
            }

            @Override
            public Reply message(int connection, byte type, byte[] body) {
                if (connection == 0 && type == 'Q' && !sent[0]) {
                    sent[0] = true;
                    return c.hostile(reads);
                }
                return normal.message(connection, type, body);
            }
        };
    }

    @Test
    void aHostileLoginEndsInAWelcomeOrAFatalAndThePoolRecovers() {
        Fuzz.check("ServerLogin: welcome or FATAL, pool recovers", 200, Case::login, Case::smaller, c -> {
            login(c, c.stream().reads());
            for (List<byte[]> reads : Hostile.everySplit(c.stream().bytes(), 12)) {
                login(c, reads);
            }
        });
    }

    @Test
    void hostileRepliesReachTheClientWholeOrEndItAndThePoolRecovers() {
        Fuzz.check("ServerConnection: replies whole or FATAL, pool recovers", 200, Case::reply, Case::smaller, c -> {
            reply(c, c.stream().reads());
            for (List<byte[]> reads : Hostile.everySplit(c.stream().bytes(), 12)) {
                reply(c, reads);
            }
        });
    }

    /**
     * Found by the fuzz: a server's login error with a SQLSTATE of four characters ("4201") was
     * the code of the client's FATAL. A code that is not five digits or capitals is now none, and
     * the client gets 08P01 with the server's message, as for an error without a code.
     */
    @Test
    void aServerErrorWithAMalformedSqlStateReachesTheClientAs08P01() {
        for (String code : new String[] {"4201", "420011", "42p01", ""}) {
            byte[] error = Seeds.msg('E', "SERROR\0VERROR\0".getBytes(StandardCharsets.UTF_8), Seeds.cstr("C" + code),
                    Seeds.cstr("Msyntax error"), new byte[] {0});
            Case c = new Case(0, new Hostile.Stream(null, error, List.of()), true);
            EmbeddedSluice sluice = new EmbeddedSluice(c.config(), hostileLogin(c, List.of(error)));
            try {
                EmbeddedSluice.Client client = sluice.connect().send(List.of(Seeds.STARTUP));
                assertThat(client.view().summary()).as(code).containsExactly("E:FATAL:08P01:syntax error");
                assertThat(client.isOpen()).isFalse();
            } finally {
                sluice.close();
            }
            checkResources(sluice, c);
        }
    }

    private static void login(Case c, List<byte[]> reads) {
        EmbeddedSluice sluice = new EmbeddedSluice(c.config(), hostileLogin(c, reads));
        try {
            EmbeddedSluice.Client first = sluice.connect().send(List.of(Seeds.STARTUP));
            ClientView view = first.view();
            view.assertWellFormed();
            boolean welcomed = view.indexOf("R:0") == 0 && view.indexOf("K") > 0 && view.indexOf("Z:") > view.indexOf("K");
            if (!first.isOpen()) {
                view.assertEndsInFatal();
            } else if (!welcomed) {
                assertThat(view.messages).as("answer to a waiting client").isEmpty();
                assertThat(c.cannotConnectNow()).as("the client waits: the server said 57P03").isTrue();
            }
            first.close();
            next(sluice, c);
        } finally {
            sluice.close();
        }
        checkResources(sluice, c);
    }

    private static void reply(Case c, List<byte[]> reads) {
        EmbeddedSluice sluice = new EmbeddedSluice(c.config(), hostileReply(c, reads));
        try {
            EmbeddedSluice.Client first = sluice.connect().send(List.of(Seeds.STARTUP, SELECT));
            ClientView view = first.view();
            assertThat(view.summary()).as("welcome").contains("K");
            if (framed(c.stream().bytes())) {
                // Whole messages from the server reach the client whole, Sluice's own among them.
                view.assertFramed();
                if (!first.isOpen()) {
                    view.assertEndsInFatal();
                }
            }
            first.close();
            next(sluice, c);
        } finally {
            sluice.close();
        }
        checkResources(sluice, c);
    }

    /** The next client, once the first is gone, is served: a reply to its query, or a FATAL and the close. */
    private static void next(EmbeddedSluice sluice, Case c) {
        EmbeddedSluice.Client next = sluice.connect().send(List.of(Seeds.STARTUP, SELECT));
        ClientView view = next.view();
        view.assertWellFormed();
        if (next.isOpen()) {
            if (view.messages.isEmpty() && c.cannotConnectNow()) {
                return;
            }
            assertThat(view.summary()).as("the next client is answered").isNotEmpty();
            assertThat(view.messages.get(view.messages.size() - 1).describe()).as("the next client's %s", view.summary())
                    .startsWith("Z:");
        } else {
            view.assertEndsInFatal();
        }
    }

    private static void checkResources(EmbeddedSluice sluice, Case c) {
        assertThat(sluice.escaped).as("what escaped Sluice's handlers").isEmpty();
        assertThat(sluice.alloc.live()).as("bytes still held once every channel is closed").isZero();
        assertThat(sluice.alloc.peak()).as("most bytes held at once")
                .isLessThanOrEqualTo(64 * 1024 + 4L * c.stream().bytes().length);
    }

    /** Whether {@code data} is whole backend messages, each with a length Sluice accepts. */
    private static boolean framed(byte[] data) {
        int pos = 0;
        while (pos < data.length) {
            if (data.length - pos < 5) {
                return false;
            }
            int len = java.nio.ByteBuffer.wrap(data, pos + 1, 4).getInt();
            if (len < 4 || len > data.length - pos - 1) {
                return false;
            }
            pos += 1 + len;
        }
        return true;
    }
}
