package io.sluice.relay;

import static io.sluice.relay.LocalSluice.eachSplit;
import static io.sluice.relay.Wire.copyData;
import static io.sluice.relay.Wire.extendedQuery;
import static io.sluice.relay.Wire.parse;
import static io.sluice.relay.Wire.query;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.relay.FakeClient.Split;
import io.sluice.testing.LeakCheck;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client goes away at each step. A server that still owes a reply (a query running, a
 * batch not synced, a message cut off, a COPY) must be closed, never handed to the next client,
 * whose stream it would corrupt; a server at rest goes back to the pool, rolled back first if a
 * transaction was open.
 */
@ExtendWith(LeakCheck.class)
class ClientLossTest {
    @TempDir
    Path dir;

    private static final List<String> PID_1001 = List.of("T", "D:1001", "C:SELECT 1", "Z:I");
    private static final List<String> PID_1002 = List.of("T", "D:1002", "C:SELECT 1", "Z:I");

    /** The next client's view: a fresh server (pid 1002), with nothing of the last client's in its reply. */
    private static void nextClientGetsAFreshServer(LocalSluice s, Split split) {
        FakeClient b = s.login("tx", split);
        b.send(query("SELECT pg_backend_pid()"));
        assertThat(b.untilReady()).isEqualTo(PID_1002);
        assertThat(s.postgres.connections).hasSize(2);
    }

    @Test
    void aClientLeavingMidQueryTakesItsServerWithItAfterCancellingTheQuery() throws Exception {
        eachSplit(dir, (s, split) -> {
            s.postgres.script = (conn, m) -> m.equals("Q:SELECT pg_sleep(60)");
            FakeClient a = s.login("tx", split);
            a.send(query("SELECT pg_sleep(60)"));
            FakePostgres.Backend server = s.postgres.connection(0);
            server.awaitReceived("Q:SELECT pg_sleep(60)");

            a.close();
            server.await();
            assertThat(server.received).as("closed without a Terminate queued behind the query")
                    .containsExactly("Q:SELECT pg_sleep(60)");
            // The cancel travels on a connection of its own: it may come after the close.
            s.postgres.cancels.await(server.pid + "/" + server.key);
            assertThat(s.postgres.cancels).as("the running query is cancelled, once").hasSize(1);
            nextClientGetsAFreshServer(s, split);
        });
    }

    @Test
    void aClientLeavingInTheMiddleOfAMessageTakesItsServerWithIt() throws Exception {
        byte[] q = query("SELECT 1");
        for (int cut = 1; cut < q.length; cut++) {
            int at = cut;
            try (LocalSluice s = LocalSluice.start(dir)) {
                FakeClient warm = s.login("tx", Split.WHOLE);
                warm.send(query("SELECT pg_backend_pid()"));
                assertThat(warm.untilReady()).isEqualTo(PID_1001);

                FakeClient a = s.login("tx", Split.WHOLE);
                a.send(Arrays.copyOf(q, at));
                // The cut-off bytes have reached Sluice once a's server (linked by them) is active.
                s.awaitPool("tx", "login 0 idle 0 active 1 reset 0 waiting 0");
                a.close();
                FakePostgres.Backend first = s.postgres.connection(0);
                first.await();
                // A header is held until whole; then it and the body stream through as they come.
                assertThat(first.received).as("cut after byte " + at).containsExactly(
                        at < 5 ? new String[] {"Q:SELECT pg_backend_pid()"}
                                : new String[] {"Q:SELECT pg_backend_pid()", "partial:" + at});
                nextClientGetsAFreshServer(s, Split.WHOLE);
            } catch (AssertionError e) {
                throw new AssertionError("Query cut after byte " + at + ": " + e.getMessage(), e);
            }
        }
    }

    @Test
    void aClientLeavingWithABatchNotSyncedTakesItsServerWithIt() throws Exception {
        for (String maxPrepared : new String[] {"0", "200"}) {
            eachSplit(dir, (s, split) -> {
                FakeClient a = s.login("tx", split);
                a.send(extendedQuery("SELECT 1"), parse("", "SELECT 'left behind'"));
                assertThat(a.untilReady()).containsExactly("1", "2", "D:1", "C:SELECT 1", "Z:I");
                assertThat(a.next()).isEqualTo("1");
                a.close();
                s.postgres.connection(0).await();
                nextClientGetsAFreshServer(s, split);
            }, "max_prepared_statements = " + maxPrepared);
        }
    }

    @Test
    void aClientLeavingMidCopyTakesItsServerWithIt() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            a.send(query("COPY t FROM STDIN"));
            assertThat(a.next()).isEqualTo("G");
            a.send(copyData("1\n"));
            s.postgres.connection(0).awaitReceived("d:1\n");
            a.close();
            s.postgres.connection(0).await();
            nextClientGetsAFreshServer(s, split);
        });
    }

    @Test
    void aClientLeavingIdleInATransactionHasItRolledBackAndTheServerReused() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            a.send(query("BEGIN"), query("SELECT 1"));
            assertThat(a.untilReady()).containsExactly("C:BEGIN", "Z:T");
            assertThat(a.untilReady()).containsExactly("T", "D:1", "C:SELECT 1", "Z:T");
            a.close();
            s.awaitPool("tx", "login 0 idle 1 active 0 reset 0 waiting 0");

            FakeClient b = s.login("tx", split);
            b.send(query("SELECT pg_backend_pid()"));
            assertThat(b.untilReady()).as("the same server, rolled back").isEqualTo(PID_1001);
            assertThat(s.postgres.connection(0).received)
                    .containsExactly("Q:BEGIN", "Q:SELECT 1", "Q:ROLLBACK", "Q:SELECT pg_backend_pid()");
        });
    }

    @Test
    void aTerminateBetweenTransactionsLeavesTheServerIdleAndUntouched() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            a.send(query("SELECT 1"));
            assertThat(a.untilReady()).isEqualTo(TransactionRelayTest.SELECT_1);
            a.send(Wire.terminate());
            assertThat(a.untilClosed()).isEmpty();

            FakeClient b = s.login("tx", split);
            b.send(query("SELECT pg_backend_pid()"));
            assertThat(b.untilReady()).isEqualTo(PID_1001);
            assertThat(s.postgres.connection(0).received).containsExactly("Q:SELECT 1", "Q:SELECT pg_backend_pid()");
        });
    }
}
