package io.sluice.it;

import static io.sluice.it.ScriptedServer.bytes;
import static io.sluice.it.ScriptedServer.cstr;
import static io.sluice.it.ScriptedServer.fields;
import static io.sluice.it.ScriptedServer.header;
import static io.sluice.it.ScriptedServer.int32;
import static io.sluice.it.ScriptedServer.msg;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.LeakCheck;
import io.sluice.testing.LogCapture;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A server that answers with broken or hostile messages, at login and mid-query, costs the
 * clients it serves a clear error and nothing else: no client waits past a few seconds, no
 * exception escapes Sluice's handlers, and a real PostgreSQL behind the same Sluice serves on.
 * Every field of every server message is optional to the decoder. The server is
 * {@link ScriptedServer}, since PostgreSQL cannot be made to misbehave.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class BrokenServerIT {
    /** Two megabytes: past what Sluice assembles of a server message it has to read. */
    private static final String HUGE = "x".repeat(2 << 20);
    /** A normal answer to any query: CommandComplete and ReadyForQuery. */
    private static final byte[][] DONE = {msg('C', cstr("SELECT 0")), msg('Z', bytes("I"))};

    private static final Map<String, ScriptedServer.Script> LOGIN = new LinkedHashMap<>();
    private static final Map<String, ScriptedServer.Script> MID_QUERY = new LinkedHashMap<>();

    static {
        // At login: each must reach the waiting client as a FATAL error, not a hang.
        LOGIN.put("err_severity_only", c -> c.send(msg('E', fields("S=FATAL"))));
        LOGIN.put("err_no_fields", c -> c.send(msg('E', fields())));
        LOGIN.put("err_empty_body", c -> c.send(msg('E')));
        LOGIN.put("err_empty_values", c -> c.send(msg('E', fields("S=", "V=", "C=", "M="))));
        LOGIN.put("err_unterminated", c -> c.send(msg('E', bytes("SFATAL"))));
        LOGIN.put("err_duplicated", c -> c.send(msg('E',
                fields("S=FATAL", "C=XX000", "M=first", "C=28000", "M=second", "S=FATAL"))));
        LOGIN.put("err_oversized", c -> c.send(msg('E', fields("S=FATAL", "C=XX000", "M=" + HUGE))));
        LOGIN.put("auth_empty", c -> c.send(msg('R')));
        LOGIN.put("auth_unknown", c -> c.send(msg('R', int32(99))));
        LOGIN.put("auth_md5_no_salt", c -> c.send(msg('R', int32(5))));
        LOGIN.put("param_no_value", c -> c.send(msg('R', int32(0)), msg('S', cstr("server_version"))));
        LOGIN.put("param_unterminated", c -> c.send(msg('R', int32(0)), msg('S', bytes("server_version"))));
        LOGIN.put("param_oversized", c -> c.send(msg('R', int32(0)), msg('S', cstr("x"), cstr(HUGE))));
        LOGIN.put("keydata_short", c -> c.send(msg('R', int32(0)), msg('K', bytes("ab"))));
        LOGIN.put("ready_empty", c -> c.send(msg('R', int32(0)), msg('Z')));
        LOGIN.put("ready_bad_status", c -> c.send(msg('R', int32(0)), msg('Z', bytes("X"))));
        LOGIN.put("length_too_small", c -> c.send(header('R', 2)));
        LOGIN.put("length_negative", c -> c.send(header('R', -5)));
        LOGIN.put("length_huge", c -> c.send(header('R', Integer.MAX_VALUE), bytes("abc")));
        LOGIN.put("closed_mid_login", c -> c.send(msg('R', int32(0))));
        LOGIN.put("silent", c -> c.readMessage());

        // Mid-query (after a login that works): the client gets an answer or a FATAL, never a hang.
        MID_QUERY.put("q_err_severity_only", c -> c.answerQueries(msg('E', fields("S=FATAL"))));
        MID_QUERY.put("q_err_no_fields", c -> c.answerQueries(msg('E', fields()), msg('Z', bytes("I"))));
        MID_QUERY.put("q_err_empty_body", c -> c.answerQueries(msg('E'), msg('Z', bytes("I"))));
        MID_QUERY.put("q_err_duplicated", c -> c.answerQueries(
                msg('E', fields("S=ERROR", "C=42000", "M=a", "M=b", "C=XX000")), msg('Z', bytes("I"))));
        MID_QUERY.put("q_notice_empty", c -> c.answerQueries(msg('N', fields()), DONE[0], DONE[1]));
        MID_QUERY.put("q_param_no_value", c -> c.answerQueries(msg('S', cstr("TimeZone")), DONE[1]));
        MID_QUERY.put("q_param_oversized", c -> c.answerQueries(msg('S', cstr("TimeZone"), cstr(HUGE)), DONE[1]));
        MID_QUERY.put("q_ready_bad_status", c -> c.answerQueries(DONE[0], msg('Z', bytes("?"))));
        MID_QUERY.put("q_ready_empty", c -> c.answerQueries(DONE[0], msg('Z')));
        MID_QUERY.put("q_length_negative", c -> c.answerQueries(header('D', -1)));
        // Every other backend message type, empty and oversized, where no client request asked for it.
        for (char type : "TDCtnGHWdcAK123sIvVNS".toCharArray()) {
            MID_QUERY.put("q_type_" + (int) type + "_empty", c -> c.answerQueries(msg(type), DONE[0], DONE[1]));
            MID_QUERY.put("q_type_" + (int) type + "_oversized",
                    c -> c.answerQueries(msg(type, bytes(HUGE)), DONE[0], DONE[1]));
        }
        MID_QUERY.put("q_closed", c -> {
            c.readMessage();
            c.socket.close();
        });
    }

    private static ScriptedServer fake;
    private static SluiceHarness sluice;
    private static LogCapture logs;
    private static int refusedPort;

    @BeforeAll
    static void start() throws Exception {
        Map<String, ScriptedServer.Script> scripts = new LinkedHashMap<>(LOGIN);
        for (Map.Entry<String, ScriptedServer.Script> e : MID_QUERY.entrySet()) {
            ScriptedServer.Script answer = e.getValue();
            scripts.put(e.getKey(), c -> {
                c.login();
                answer.run(c);
            });
        }
        // Starting up: "cannot connect now" for the first two logins, then a server that works.
        scripts.put("recovering", c -> {
            if (c.attempt < 2) {
                c.send(msg('E', fields("S=FATAL", "V=FATAL", "C=57P03", "M=the database system is starting up")));
                return;
            }
            c.login();
            c.answerQueries(DONE);
        });
        fake = new ScriptedServer(scripts);
        try (ServerSocket s = new ServerSocket(0)) {
            refusedPort = s.getLocalPort();
        }
        StringBuilder dbs = new StringBuilder("real = host=127.0.0.1 port=${PG_PORT} dbname=postgres\n");
        for (String db : scripts.keySet()) {
            dbs.append(db).append(" = host=127.0.0.1 port=").append(fake.port()).append('\n');
        }
        dbs.append("refused = host=127.0.0.1 port=").append(refusedPort).append('\n');
        logs = LogCapture.capture();
        sluice = SluiceHarness.start(dbs.toString(), String.join("\n",
                "auth_type = trust",
                "pool_mode = transaction",
                // Tracked statements make Sluice decode the errors it would otherwise relay as bytes.
                "max_prepared_statements = 10",
                "server_connect_timeout = 2",
                "query_wait_timeout = 30"), SluiceHarness.USERLIST);
    }

    @AfterAll
    static void stop() throws IOException {
        if (sluice != null) {
            sluice.close();
        }
        if (fake != null) {
            fake.close();
        }
        if (logs != null) {
            logs.close();
        }
    }

    /** What a client saw: the messages up to ReadyForQuery, an ErrorResponse or the close. */
    private record Seen(List<PgWire.Msg> msgs, boolean closed, long millis) {
        PgWire.Msg error() {
            return msgs.stream().filter(m -> m.type() == 'E').findFirst().orElse(null);
        }

        String types() {
            StringBuilder sb = new StringBuilder();
            msgs.forEach(m -> sb.append(m.type()));
            return sb + (closed ? "|closed" : "");
        }
    }

    private static Seen until(PgWire w, char... stopAt) throws IOException {
        long t0 = System.nanoTime();
        List<PgWire.Msg> msgs = new ArrayList<>();
        w.socket.setSoTimeout(15_000);
        try {
            while (true) {
                PgWire.Msg m = w.read();
                msgs.add(m);
                for (char c : stopAt) {
                    if (m.type() == c) {
                        return new Seen(msgs, false, (System.nanoTime() - t0) / 1_000_000);
                    }
                }
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("no answer within 15 s; saw " + msgs.size() + " messages");
        } catch (IOException e) {
            return new Seen(msgs, true, (System.nanoTime() - t0) / 1_000_000);
        }
    }

    private static Seen login(String db) throws IOException {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608, "user\0postgres\0database\0" + db + "\0");
            return until(w, 'E', 'Z');
        }
    }

    @Test
    void aBrokenServerLoginGivesTheWaitingClientAFatalErrorAtOnce() throws Exception {
        Map<String, String> told = new LinkedHashMap<>();
        for (String db : LOGIN.keySet()) {
            Seen seen = login(db);
            assertThat(seen.error()).as("%s: %s", db, seen.types()).isNotNull();
            String message = PgWire.errorMessage(seen.error());
            told.put(db, message);
            assertThat(PgWire.field(seen.error(), 'S')).as(db).isEqualTo("FATAL");
            assertThat(message).as(db).isNotBlank().doesNotContain("null").doesNotContain("Exception")
                    .doesNotContain("index").doesNotContain("io_uring").doesNotContain("error(");
            assertThat(seen.millis()).as(db).isLessThan(8_000);
        }
        assertThat(told).containsEntry("err_duplicated", "second")
                .containsEntry("err_severity_only", "server sent an error without a message")
                .containsEntry("err_unterminated", "server login failed: protocol error")
                .containsEntry("auth_unknown", "server asked for unsupported authentication method 99")
                .containsEntry("closed_mid_login", "server conn crashed?")
                .containsEntry("silent", "server login timed out (server_connect_timeout)");
        // The next client of a pool whose login failed gets the cached error, at once.
        Seen again = login("err_severity_only");
        assertThat(PgWire.errorMessage(again.error())).isEqualTo(
                "server login has been failing, cached error: server sent an error without a message (server_login_retry)");
        assertThat(realServerWorks()).isTrue();
        assertThat(logs.escapedExceptions()).isEmpty();
    }

    @Test
    void aBrokenServerMidQueryEndsOnlyThatQueryOrThatClient() throws Exception {
        for (String db : MID_QUERY.keySet()) {
            try (PgWire w = PgWire.connect(sluice.port())) {
                w.startup(196608, "user\0postgres\0database\0" + db + "\0");
                Seen welcome = until(w, 'Z', 'E');
                assertThat(welcome.types()).as(db).endsWith("KZ");
                w.send(b -> io.sluice.protocol.PgWriter.query(b, "select 1"));
                Seen seen = until(w, 'Z');
                assertThat(seen.msgs()).as("%s: %s", db, seen.types()).isNotEmpty();
                assertThat(seen.millis()).as(db).isLessThan(8_000);
                if (seen.closed()) {
                    PgWire.Msg last = seen.msgs().get(seen.msgs().size() - 1);
                    assertThat(last.type()).as(db).isEqualTo('E');
                    assertThat(PgWire.field(last, 'S')).as(db).isEqualTo("FATAL");
                }
            }
        }
        // Errors the server answered and went on from reach the client as the server sent them.
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608, "user\0postgres\0database\0q_err_empty_body\0");
            until(w, 'Z');
            w.send(b -> io.sluice.protocol.PgWriter.query(b, "select 1"));
            assertThat(until(w, 'Z').types()).isEqualTo("EZ");
            w.send(b -> io.sluice.protocol.PgWriter.query(b, "select 1"));
            assertThat(until(w, 'Z').types()).isEqualTo("EZ");
        }
        assertThat(realServerWorks()).isTrue();
        assertThat(logs.escapedExceptions()).isEmpty();
    }

    @Test
    void clientsArrivingWhilePostgresStartsUpAreHeldAndThenServed() throws Exception {
        Seen[] seen = new Seen[3];
        SluiceHarness.concurrently(3, 60, i -> {
            Thread.sleep(300L * i);
            seen[i] = login("recovering");
        });

        for (Seen s : seen) {
            assertThat(s.error()).as(s.types()).isNull();
            assertThat(s.types()).endsWith("KZ");
        }
        assertThat(fake.attempts("recovering")).isGreaterThanOrEqualTo(3);
    }

    @Test
    void aRefusedConnectionIsToldInPgBouncersWordsWithTheDetailsInTheLog() throws Exception {
        Seen first = login("refused");
        Seen later = login("refused");

        assertThat(PgWire.errorMessage(first.error())).isEqualTo("connect failed");
        assertThat(PgWire.errorMessage(later.error()))
                .isEqualTo("server login has been failing, cached error: connect failed (server_login_retry)");
        assertThat(logs.messages()).anyMatch(m -> m.contains("could not connect to server 127.0.0.1:" + refusedPort));
    }

    private static boolean realServerWorks() throws Exception {
        try (Connection c = sluice.connect("real", "postgres", "")) {
            return "1".equals(SluiceHarness.scalar(c, "select 1"));
        }
    }
}
