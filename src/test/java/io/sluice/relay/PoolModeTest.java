package io.sluice.relay;

import static io.sluice.relay.LocalSluice.eachSplit;
import static io.sluice.relay.Wire.query;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.LeakCheck;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Session and statement mode against the fake server: in session mode a client keeps its
 * server between transactions and gives it back reset (DISCARD ALL); in statement mode a
 * transaction block is refused, and the server it opened is rolled back before reuse.
 */
@ExtendWith(LeakCheck.class)
class PoolModeTest {
    @TempDir
    Path dir;

    @Test
    void sessionModeKeepsTheServerBetweenTransactionsAndResetsItForTheNextClient() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("sess", split);
            a.send(query("SELECT 1"));
            assertThat(a.untilReady()).isEqualTo(TransactionRelayTest.SELECT_1);
            assertThat(s.pool("sess")).isEqualTo("login 0 idle 0 active 1 reset 0 waiting 0");

            FakeClient b = s.login("sess", split);
            b.send(query("SELECT 'b'"));
            a.send(query("SELECT 2"));
            assertThat(a.untilReady()).containsExactly("T", "D:2", "C:SELECT 1", "Z:I");
            assertThat(b.drain()).as("b waits for a's session to end").isEmpty();
            assertThat(s.pool("sess")).isEqualTo("login 0 idle 0 active 1 reset 0 waiting 1");

            a.send(Wire.terminate());
            assertThat(a.untilClosed()).isEmpty();
            assertThat(b.untilReady()).containsExactly("T", "D:'b'", "C:SELECT 1", "Z:I");
            assertThat(s.postgres.connections).hasSize(1);
            assertThat(s.postgres.connection(0).received).as("reset between the sessions, its reply not relayed")
                    .containsExactly("Q:SELECT 1", "Q:SELECT 2", "Q:DISCARD ALL", "Q:SELECT 'b'");
        });
    }

    @Test
    void sessionModeRollsBackAndResetsTheServerOfAClientThatLeftInATransaction() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("sess", split);
            a.send(query("BEGIN"));
            assertThat(a.untilReady()).containsExactly("C:BEGIN", "Z:T");
            a.close();
            s.awaitPool("sess", "login 0 idle 1 active 0 reset 0 waiting 0");
            assertThat(s.postgres.connection(0).received).containsExactly("Q:BEGIN", "Q:ROLLBACK", "Q:DISCARD ALL");

            FakeClient b = s.login("sess", split);
            b.send(query("SELECT pg_backend_pid()"));
            assertThat(b.untilReady()).containsExactly("T", "D:1001", "C:SELECT 1", "Z:I");
        });
    }

    @Test
    void statementModeRefusesATransactionBlockAndRollsItBack() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("stmt", split);
            a.send(query("SELECT 1"), query("SELECT 2"));
            assertThat(a.untilReady()).isEqualTo(TransactionRelayTest.SELECT_1);
            assertThat(a.untilReady()).containsExactly("T", "D:2", "C:SELECT 1", "Z:I");

            a.send(query("BEGIN"));
            assertThat(a.untilClosed()).containsExactly("C:BEGIN",
                    "E:08P01:transaction blocks not allowed in statement pooling mode");
            s.awaitPool("stmt", "login 0 idle 1 active 0 reset 0 waiting 0");

            FakeClient b = s.login("stmt", split);
            b.send(query("SELECT pg_backend_pid()"));
            assertThat(b.untilReady()).containsExactly("T", "D:1001", "C:SELECT 1", "Z:I");
            assertThat(s.postgres.connection(0).received)
                    .containsExactly("Q:SELECT 1", "Q:SELECT 2", "Q:BEGIN", "Q:ROLLBACK", "Q:SELECT pg_backend_pid()");
        });
    }
}
