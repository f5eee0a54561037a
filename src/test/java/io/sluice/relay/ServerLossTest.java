package io.sluice.relay;

import static io.sluice.relay.LocalSluice.eachSplit;
import static io.sluice.relay.Wire.query;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.relay.FakePostgres.Login;
import io.sluice.testing.LeakCheck;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server goes away at each step: during its login, while idle in the pool, while linked
 * to an idle session-mode client, and after each message of a reply. Asserts what the client
 * is told, and that the next client gets a working server.
 *
 * <p>Two cases failed on the build before them: a closed idle server handed to a query read
 * in the same loop turn, and Sluice's FATAL appended to a half-relayed message.
 */
@ExtendWith(LeakCheck.class)
class ServerLossTest {
    @TempDir
    Path dir;

    private static final String CRASHED = "E:08P01:server conn crashed?";

    @Test
    void aLoginThatFailsIsWhatTheWaitingClientIsToldAndLaterOnesGetItCached() throws Exception {
        record Step(Login login, String error) { }
        List<Step> steps = List.of(
                new Step(Login.CLOSE_AT_STARTUP, "E:08P01:server conn crashed?"),
                new Step(Login.CLOSE_BEFORE_READY, "E:08P01:server conn crashed?"),
                new Step(Login.FATAL, "E:3D000:database \"app\" does not exist"));
        for (Step step : steps) {
            eachSplit(dir, (s, split) -> {
                s.postgres.nextLogins(step.login());
                FakeClient a = s.connect(split);
                a.send(Wire.startup(LocalSluice.USER, "tx"));
                assertThat(a.untilClosed()).as(step.login().toString()).containsExactly(step.error());

                // Within server_login_retry the next client gets the same error at once, with no new login.
                FakeClient b = s.connect(split);
                b.send(Wire.startup(LocalSluice.USER, "tx"));
                String cached = step.error().replaceFirst("^E:[^:]*:", "");
                assertThat(b.untilClosed()).as(step.login().toString()).containsExactly(
                        "E:08P01:server login has been failing, cached error: " + cached + " (server_login_retry)");
                assertThat(s.postgres.connections).hasSize(1);
                assertThat(s.pool("tx")).isEqualTo("login 0 idle 0 active 0 reset 0 waiting 0");
            });
        }
    }

    @Test
    void aServerThatCannotBeReachedIsConnectFailed() throws Exception {
        eachSplit(dir, (s, split) -> {
            s.postgres.stopListening();
            FakeClient a = s.connect(split);
            a.send(Wire.startup(LocalSluice.USER, "tx"));
            assertThat(a.untilClosed()).containsExactly("E:08P01:connect failed");
        });
    }

    @Test
    void anIdleServerLostInThePoolIsReplacedWithoutTheClientNoticing() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            a.send(query("SELECT pg_backend_pid()"));
            assertThat(a.untilReady()).contains("D:1001");

            s.postgres.connection(0).closeNow();
            s.awaitPool("tx", "login 0 idle 0 active 0 reset 0 waiting 0");

            a.send(query("SELECT pg_backend_pid()"));
            assertThat(a.untilReady()).containsExactly("T", "D:1002", "C:SELECT 1", "Z:I");
            assertThat(s.postgres.connection(0).received).containsExactly("Q:SELECT pg_backend_pid()");
        });
    }

    @Test
    void anIdleServerThatSaysFatalAndLeavesIsReplacedToo() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            a.send(query("SELECT 1"));
            assertThat(a.untilReady()).isEqualTo(TransactionRelayTest.SELECT_1);

            // idle_session_timeout, or pg_terminate_backend: a FATAL, then the close.
            FakePostgres.Backend first = s.postgres.connection(0);
            first.sendNow(Wire.error("FATAL", "57P01", "terminating connection due to administrator command"));
            first.closeNow();
            s.awaitPool("tx", "login 0 idle 0 active 0 reset 0 waiting 0");
            a.send(query("SELECT pg_backend_pid()"));
            assertThat(a.untilReady()).containsExactly("T", "D:1002", "C:SELECT 1", "Z:I");
        });
    }

    /**
     * The server's close and the client's next query read in the same turn of the loop: the
     * query must go to a new server, not to the one closing. Over TCP the same happens when
     * both sockets are ready together; Netty runs channelInactive a task later than the close.
     */
    @Test
    void anIdleServerLostInTheSameTurnAsTheNextQueryIsNotHandedToIt() throws Exception {
        List<String> outcomes = new ArrayList<>();
        for (boolean fatalFirst : new boolean[] {false, true}) {
            eachSplit(dir, (s, split) -> {
                FakeClient a = s.login("tx", split);
                a.send(query("SELECT 1"));
                assertThat(a.untilReady()).isEqualTo(TransactionRelayTest.SELECT_1);

                FakePostgres.Backend first = s.postgres.connection(0);
                s.inOneTurn(() -> {
                    if (fatalFirst) {
                        first.sendNow(Wire.error("FATAL", "57P01", "terminating connection due to administrator command"));
                    }
                    first.closeNow();
                    a.send(query("SELECT pg_backend_pid()"));
                });
                List<String> got = new ArrayList<>();
                for (String m = a.next(); !m.equals(FakeClient.CLOSED) && !m.startsWith("Z:"); m = a.next()) {
                    got.add(m);
                }
                outcomes.add((fatalFirst ? "FATAL, then the close" : "the close alone") + ", " + split + ": " + got);
            });
        }
        assertThat(outcomes).allMatch(o -> o.endsWith("[T, D:1002, C:SELECT 1]"));
    }

    @Test
    void aServerLostUnderAnIdleSessionModeClientEndsThatClientAtOnce() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("sess", split);
            a.send(query("SELECT 1"));
            assertThat(a.untilReady()).isEqualTo(TransactionRelayTest.SELECT_1);

            s.postgres.connection(0).closeNow();
            assertThat(a.untilClosed()).containsExactly(CRASHED);

            FakeClient b = s.login("sess", split);
            b.send(query("SELECT pg_backend_pid()"));
            assertThat(b.untilReady()).containsExactly("T", "D:1002", "C:SELECT 1", "Z:I");
        });
    }

    @Test
    void aServerLostAfterEachMessageOfAReply() throws Exception {
        // The fake's whole reply to "SELECT 'x'", simple and extended protocol; it closes after `sent` of them.
        List<byte[]> simple = List.of(Wire.rowDescription("?column?"), Wire.dataRow("'x'"),
                Wire.commandComplete("SELECT 1"), Wire.readyForQuery('I'));
        List<byte[]> extended = List.of(Wire.msg('1'), Wire.msg('2'), Wire.dataRow("'x'"),
                Wire.commandComplete("SELECT 1"), Wire.readyForQuery('I'));
        for (boolean ext : new boolean[] {false, true}) {
            List<byte[]> reply = ext ? extended : simple;
            byte[] request = ext ? Wire.extendedQuery("SELECT 'x'") : query("SELECT 'x'");
            String last = ext ? "S" : "Q:SELECT 'x'";
            for (int k = 0; k <= reply.size(); k++) {
                int sent = k;
                eachSplit(dir, (s, split) -> {
                    s.postgres.script = (conn, m) -> {
                        if (conn.pid != 1001 || m.startsWith("X")) {
                            return false;
                        }
                        if (!m.equals(last)) {
                            // Parse, Bind, Execute: answered all at once at the Sync, or not at all.
                            return ext;
                        }
                        conn.send(reply.subList(0, sent).toArray(new byte[0][]));
                        conn.close();
                        return true;
                    };
                    FakeClient a = s.login("tx", split);
                    a.send(request);
                    List<String> expected = new ArrayList<>();
                    List<String> all = ext ? List.of("1", "2", "D:'x'", "C:SELECT 1", "Z:I")
                            : List.of("T", "D:'x'", "C:SELECT 1", "Z:I");
                    expected.addAll(all.subList(0, sent));
                    String as = (ext ? "extended" : "simple") + " protocol, server lost after " + sent + " messages";
                    if (sent < reply.size()) {
                        expected.add(CRASHED);
                        assertThat(a.untilClosed()).as(as).isEqualTo(expected);
                    } else {
                        // The reply was whole: the loss is the pool's business, not the client's.
                        assertThat(a.untilReady()).as(as).isEqualTo(expected);
                        s.postgres.connection(0).await();
                        s.awaitPool("tx", "login 0 idle 0 active 0 reset 0 waiting 0");
                        a.send(query("SELECT pg_backend_pid()"));
                        assertThat(a.untilReady()).as(as).containsExactly("T", "D:1002", "C:SELECT 1", "Z:I");
                    }
                    FakeClient b = s.login("tx", split);
                    b.send(query("SELECT 'b'"));
                    assertThat(b.untilReady()).as(as).containsExactly("T", "D:'b'", "C:SELECT 1", "Z:I");
                    assertThat(s.postgres.connections).as(as).hasSize(2);
                });
            }
        }
    }

    @Test
    void aServerLostInTheMiddleOfARowLeavesTheClientNoBrokenMessage() throws Exception {
        eachSplit(dir, (s, split) -> {
            byte[] row = Wire.dataRow("a long enough value");
            s.postgres.script = (conn, m) -> {
                if (!m.equals("Q:SELECT 'cut'")) {
                    return false;
                }
                conn.send(Wire.rowDescription("?column?"), Arrays.copyOf(row, 9));
                conn.close();
                return true;
            };
            FakeClient a = s.login("tx", split);
            a.send(query("SELECT 'cut'"));
            // Nothing can follow half a message: an ErrorResponse would be read as its rest. The
            // client gets what the server sent, as it would from PostgreSQL itself, and the close.
            assertThat(a.untilClosed()).as("the RowDescription, the half row, then the close")
                    .containsExactly("T", "partial:D:9");
        });
    }
}
