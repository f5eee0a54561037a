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
import java.util.Arrays;
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
    /** A start-up with no parameter to sync: the first query on the server is the client's. */
    private static final byte[] PLAIN_STARTUP = Seeds.startup("user", Seeds.USER, "database", Seeds.DATABASE);

    /**
     * {@code stream}, the server's hostile bytes; then a close if {@code close}. With {@code sync}
     * the client's application_name makes Sluice's own SET the first query, which gets them.
     */
    record Case(int mode, Hostile.Stream stream, boolean close, boolean sync) {
        static Case login(Random r) {
            return new Case(r.nextInt(MODES.length), Hostile.stream(r, LOGINS, Seeds.backend(), 4, 0), true, true);
        }

        static Case reply(Random r) {
            return new Case(r.nextInt(MODES.length), Hostile.stream(r, REPLIES, Seeds.backend(), 4, 8), r.nextBoolean(),
                    r.nextBoolean());
        }

        List<Case> smaller() {
            List<Case> out = new ArrayList<>();
            for (Hostile.Stream s : stream.smaller()) {
                out.add(new Case(mode, s, close, sync));
            }
            if (!close) {
                out.add(new Case(mode, stream, true, sync));
            }
            if (sync) {
                out.add(new Case(mode, stream, close, false));
            }
            return out;
        }

        byte[] startup() {
            return sync ? Seeds.STARTUP : PLAIN_STARTUP;
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
            Case c = new Case(0, new Hostile.Stream(null, error, List.of()), true, true);
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

    /**
     * Found by the fuzz: a server lost in the middle of a message Sluice inspects or observes
     * (ErrorResponse, ParameterStatus) with its first part relayed, or whose scan failed in the
     * read that held the rest of one: Sluice's "server conn crashed?" FATAL followed the half message,
     * and the client read it as that message's rest. Now the client is closed with no FATAL, as
     * it already was in the middle of any other message.
     */
    @Test
    void aServerLostInTheMiddleOfAMessageLeavesTheClientNoFatalAfterIt() {
        byte[] error = Seeds.error("ERROR", "42601", "syntax error");
        byte[] status = Seeds.parameterStatus("TimeZone", "UTC");
        List<List<byte[]>> replies = List.of(
                List.of(Arrays.copyOf(error, 12)),
                List.of(Arrays.copyOf(status, 8)),
                // The rest of the ErrorResponse, then a length of 3: that read's scan fails, and
                // drops the run the rest was in (an observed message ends no run).
                List.of(Arrays.copyOf(error, 8), Seeds.concat(Arrays.copyOfRange(error, 8, error.length),
                        new byte[] {'C', 0, 0, 0, 3})));
        for (List<byte[]> reads : replies) {
            for (int mode = 0; mode < MODES.length; mode++) {
                Case c = new Case(mode, new Hostile.Stream(null, Seeds.concat(reads.toArray(new byte[0][])), List.of()),
                        true, false);
                EmbeddedSluice sluice = new EmbeddedSluice(c.config(), hostileReply(c, reads));
                try {
                    EmbeddedSluice.Client client = sluice.connect().send(List.of(PLAIN_STARTUP, SELECT));
                    List<String> got = client.view().summary();
                    assertThat(got.subList(got.indexOf("K") + 1, got.size())).as("%s, %d reads", MODES[mode], reads.size())
                            .containsExactly("Z:I", "partial");
                    assertThat(client.isOpen()).isFalse();
                } finally {
                    sluice.close();
                }
                checkResources(sluice, c);
            }
        }
    }

    /**
     * A server that asks for SCRAM and answers Sluice's client-first-message with a
     * server-first-message carrying Sluice's nonce, {@code nonceTail} more characters of its own
     * and {@code iterations}; then a server-final-message that does not verify.
     */
    private static EmbeddedSluice.Backend scramServer(int nonceTail, int iterations) {
        return new EmbeddedSluice.Backend() {
            @Override
            public Reply login(int connection, Map<String, String> startup) {
                return Reply.of(Seeds.msg('R', Seeds.int32(10), Seeds.cstr("SCRAM-SHA-256"), new byte[] {0}));
            }

            @Override
            public Reply message(int connection, byte type, byte[] body) {
                String text = new String(body, StandardCharsets.UTF_8);
                int r = text.indexOf("r=");
                if (text.startsWith("SCRAM-SHA-256") && r >= 0) {
                    String first = "r=" + text.substring(r + 2) + "n".repeat(nonceTail) + ",s=QSXCR+Q6sek8bf92,i=" + iterations;
                    return Reply.of(Seeds.msg('R', Seeds.int32(11), first.getBytes(StandardCharsets.UTF_8)));
                }
                return Reply.closing(Seeds.msg('R', Seeds.int32(12), "v=AAAA".getBytes(StandardCharsets.UTF_8)));
            }
        };
    }

    /** An over-long nonce in the server-first-message: the login fails at the signature, cleanly. */
    @Test
    void aScramServerWithAnOverLongNonceFailsTheLoginCleanly() {
        for (int tail : new int[] {8, 60_000}) {
            Case c = new Case(0, new Hostile.Stream(null, new byte[0], List.of()), true, true);
            EmbeddedSluice sluice = new EmbeddedSluice(c.config(), scramServer(tail, 4096));
            try {
                EmbeddedSluice.Client client = sluice.connect().send(List.of(Seeds.STARTUP));
                ClientView view = client.view();
                view.assertWellFormed();
                view.assertEndsInFatal();
                assertThat(view.summary()).as("nonce tail %d", tail).hasSize(1);
            } finally {
                sluice.close();
            }
            assertThat(sluice.escaped).isEmpty();
            assertThat(sluice.alloc.live()).isZero();
            assertThat(sluice.alloc.peak()).isLessThan(1 << 20);
        }
    }

    /**
     * The PBKDF2 a server asks for runs on the event loop: one asking for i=2147483647 once held
     * every client of that loop for minutes. Counts above ServerLogin.MAX_SCRAM_ITERATIONS fail
     * the login at once.
     */
    @Test
    void aScramServerAskingForAHugeIterationCountDoesNotStallTheLoop() {
        Case c = new Case(0, new Hostile.Stream(null, new byte[0], List.of()), true, true);
        EmbeddedSluice sluice = new EmbeddedSluice(c.config(), scramServer(8, Integer.MAX_VALUE));
        try {
            long start = System.nanoTime();
            EmbeddedSluice.Client client = sluice.connect().send(List.of(Seeds.STARTUP));
            assertThat(System.nanoTime() - start).as("nanoseconds the loop was held").isLessThan(1_000_000_000L);
            client.view().assertEndsInFatal();
        } finally {
            sluice.close();
        }
    }

    private static void login(Case c, List<byte[]> reads) {
        EmbeddedSluice sluice = new EmbeddedSluice(c.config(), hostileLogin(c, reads));
        try {
            EmbeddedSluice.Client first = sluice.connect().send(List.of(Seeds.STARTUP));
            ClientView view = first.view();
            boolean welcomed = view.indexOf("R:0") == 0 && view.indexOf("K") > 0 && view.indexOf("Z:") > view.indexOf("K");
            if (welcomed) {
                // Logged in: what the server sent after its ReadyForQuery is relayed as it is.
                if (framed(c.stream().bytes())) {
                    view.assertFramed();
                    if (!first.isOpen()) {
                        view.assertLastIsFatal();
                    }
                }
            } else if (!first.isOpen()) {
                // Sluice's own answer only: nothing of a server is relayed before its login is done.
                view.assertWellFormed();
                view.assertEndsInFatal();
            } else {
                assertThat(view.summary()).as("answer to a waiting client").isEmpty();
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
            EmbeddedSluice.Client first = sluice.connect().send(List.of(c.startup(), SELECT));
            ClientView view = first.view();
            assertThat(view.summary()).as("welcome").contains("K");
            if (framed(c.stream().bytes())) {
                // Whole messages from the server reach the client whole, Sluice's own among them,
                // and what the server sent after a FATAL of its own too.
                view.assertFramed();
                if (!first.isOpen()) {
                    view.assertLastIsFatal();
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

    /** An ErrorResponse body as PgReader reads it: fields, each a code and a NUL-ended string, until a 0. */
    private static boolean fieldsTerminated(byte[] body) {
        int i = 0;
        while (i < body.length) {
            if (body[i++] == 0) {
                return true;
            }
            while (i < body.length && body[i] != 0) {
                i++;
            }
            if (i++ >= body.length) {
                return false;
            }
        }
        return true;
    }

    private static void checkResources(EmbeddedSluice sluice, Case c) {
        assertThat(sluice.escaped).as("what escaped Sluice's handlers").isEmpty();
        assertThat(sluice.alloc.live()).as("bytes still held once every channel is closed").isZero();
        assertThat(sluice.alloc.peak()).as("most bytes held at once")
                .isLessThanOrEqualTo(64 * 1024 + 4L * c.stream().bytes().length);
    }

    /**
     * Whether {@code data} is whole backend messages with no FATAL among them, each of those
     * Sluice decodes as it relays (ErrorResponse, ParameterStatus, ReadyForQuery) well formed.
     * After a FATAL, or a message it cannot decode, a server is closed at once, so the rest of
     * its read may reach the client cut off.
     */
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
            byte[] body = Arrays.copyOfRange(data, pos + 5, pos + 1 + len);
            if (data[pos] == 'E') {
                Map<Character, String> f = new ClientView.Message('E', body).fields();
                if (!fieldsTerminated(body) || f.getOrDefault('V', f.getOrDefault('S', "")).matches("FATAL|PANIC")) {
                    return false;
                }
            }
            if (data[pos] == 'S' && new String(body, StandardCharsets.ISO_8859_1).chars().filter(ch -> ch == 0).count() < 2
                    || data[pos] == 'Z' && body.length == 0) {
                return false;
            }
            pos += 1 + len;
        }
        return true;
    }
}
