package io.sluice.relay;

import static io.sluice.relay.LocalSluice.eachSplit;
import static io.sluice.relay.Wire.bind;
import static io.sluice.relay.Wire.copyData;
import static io.sluice.relay.Wire.copyDone;
import static io.sluice.relay.Wire.describePortal;
import static io.sluice.relay.Wire.execute;
import static io.sluice.relay.Wire.extendedQuery;
import static io.sluice.relay.Wire.parse;
import static io.sluice.relay.Wire.query;
import static io.sluice.relay.Wire.sync;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.LeakCheck;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay in transaction mode against the fake server, with the pool's one server: where a
 * server goes back to the pool (after the ReadyForQuery 'I' that ends the client's last
 * request, never inside a transaction block, an unsynced batch or a COPY), and that every
 * client gets exactly its own replies. Each case with the client's bytes whole and cut at
 * every byte.
 */
@ExtendWith(LeakCheck.class)
class TransactionRelayTest {
    @TempDir
    Path dir;

    static final List<String> SELECT_1 = List.of("T", "D:1", "C:SELECT 1", "Z:I");

    @Test
    void aSimpleQueryGivesItsServerBackAtReadyForQueryIdle() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            a.send(query("SELECT 1"));
            assertThat(a.untilReady()).isEqualTo(SELECT_1);
            assertThat(s.pool("tx")).isEqualTo("login 0 idle 1 active 0 reset 0 waiting 0");

            FakeClient b = s.login("tx", split);
            b.send(query("SELECT pg_backend_pid()"));
            assertThat(b.untilReady()).as("the same server").containsExactly("T", "D:1001", "C:SELECT 1", "Z:I");
            assertThat(s.postgres.connections).hasSize(1);
            assertThat(s.postgres.connection(0).received)
                    .containsExactly("Q:SELECT 1", "Q:SELECT pg_backend_pid()");
        });
    }

    @Test
    void aTransactionBlockKeepsItsServerUntilReadyForQueryIdle() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            FakeClient b = s.login("tx", split);
            a.send(query("BEGIN"));
            assertThat(a.untilReady()).containsExactly("C:BEGIN", "Z:T");

            b.send(query("SELECT 'b'"));
            // a's next round trip is queued on Sluice's loop after b's bytes: b has been read by then.
            a.send(query("SELECT 'a'"));
            assertThat(a.untilReady()).containsExactly("T", "D:'a'", "C:SELECT 1", "Z:T");
            assertThat(b.drain()).as("b waits while a's transaction is open").isEmpty();
            assertThat(s.pool("tx")).isEqualTo("login 0 idle 0 active 1 reset 0 waiting 1");

            // A failed transaction holds the server too, until its ROLLBACK.
            a.send(query("SELECT error"));
            assertThat(a.untilReady()).containsExactly("E:42703:column \"error\" does not exist", "Z:E");
            a.send(query("SELECT 'ignored'"));
            assertThat(a.untilReady()).containsExactly(
                    "E:25P02:current transaction is aborted, commands ignored until end of transaction block", "Z:E");
            assertThat(b.drain()).isEmpty();

            a.send(query("ROLLBACK"));
            assertThat(a.untilReady()).containsExactly("C:ROLLBACK", "Z:I");
            assertThat(b.untilReady()).containsExactly("T", "D:'b'", "C:SELECT 1", "Z:I");
            assertThat(s.postgres.connections).hasSize(1);
            assertThat(s.postgres.connection(0).received).containsExactly("Q:BEGIN", "Q:SELECT 'a'",
                    "Q:SELECT error", "Q:SELECT 'ignored'", "Q:ROLLBACK", "Q:SELECT 'b'");
        });
    }

    @Test
    void queriesPipelinedInOneWriteAreAllAnsweredBeforeTheServerMovesOn() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            FakeClient b = s.login("tx", split);
            a.send(query("SELECT 1"), query("SELECT error"), query("SELECT 3"));
            // a holds the server before b asks: two sockets read in one loop turn are read in no
            // set order, and b first would be a different (and correct) story.
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
            while (s.postgres.connections.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            s.postgres.connection(0).received.await("Q:SELECT 1");
            b.send(query("SELECT 'b'"));
            assertThat(a.untilReady()).isEqualTo(SELECT_1);
            assertThat(a.untilReady()).containsExactly("E:42703:column \"error\" does not exist", "Z:I");
            assertThat(a.untilReady()).containsExactly("T", "D:3", "C:SELECT 1", "Z:I");
            assertThat(b.untilReady()).containsExactly("T", "D:'b'", "C:SELECT 1", "Z:I");
            assertThat(a.drain()).isEmpty();
            assertThat(s.postgres.connection(0).received)
                    .containsExactly("Q:SELECT 1", "Q:SELECT error", "Q:SELECT 3", "Q:SELECT 'b'");
        });
    }

    @Test
    void extendedProtocolPipelinedWithErrorsMidPipeline() throws Exception {
        for (String maxPrepared : new String[] {"0", "200"}) {
            eachSplit(dir, (s, split) -> {
                FakeClient a = s.login("tx", split);
                FakeClient b = s.login("tx", split);
                a.send(parse("", "SELECT 1"), bind("", ""), describePortal(""), execute(""), sync(),
                        // Fails at Execute: the rest up to Sync is skipped, the next batch runs.
                        extendedQuery("SELECT error"),
                        // Fails at Parse: Bind and Execute are skipped.
                        extendedQuery("BAD SQL"),
                        extendedQuery("SELECT 4"));
                b.send(extendedQuery("SELECT 'b'"));
                String as = "max_prepared_statements = " + maxPrepared;
                assertThat(a.untilReady()).as(as).containsExactly("1", "2", "T", "D:1", "C:SELECT 1", "Z:I");
                assertThat(a.untilReady()).as(as)
                        .containsExactly("1", "2", "E:42703:column \"error\" does not exist", "Z:I");
                assertThat(a.untilReady()).as(as).containsExactly("E:42601:syntax error at or near \"BAD\"", "Z:I");
                assertThat(a.untilReady()).as(as).containsExactly("1", "2", "D:4", "C:SELECT 1", "Z:I");
                assertThat(b.untilReady()).as(as).containsExactly("1", "2", "D:'b'", "C:SELECT 1", "Z:I");
                assertThat(s.postgres.connections).hasSize(1);
                assertThat(s.pool("tx")).isEqualTo("login 0 idle 1 active 0 reset 0 waiting 0");
            }, "max_prepared_statements = " + maxPrepared);
        }
    }

    @Test
    void aBatchNotYetSyncedKeepsItsServer() throws Exception {
        for (String maxPrepared : new String[] {"0", "200"}) {
            eachSplit(dir, (s, split) -> {
                FakeClient a = s.login("tx", split);
                FakeClient b = s.login("tx", split);
                a.send(extendedQuery("SELECT 'first'"), parse("", "SELECT 'second'"));
                assertThat(a.untilReady()).containsExactly("1", "2", "D:'first'", "C:SELECT 1", "Z:I");

                b.send(query("SELECT 'b'"));
                // The fake answers the Parse at once; the Flush makes a's round trip follow b's bytes.
                a.send(Wire.flush());
                assertThat(a.next()).isEqualTo("1");
                s.postgres.connection(0).awaitReceived("H");
                assertThat(b.drain()).as("b waits while a's batch is open").isEmpty();
                assertThat(s.pool("tx")).isEqualTo("login 0 idle 0 active 1 reset 0 waiting 1");

                a.send(bind("", ""), execute(""), sync());
                assertThat(a.untilReady()).containsExactly("2", "D:'second'", "C:SELECT 1", "Z:I");
                assertThat(b.untilReady()).containsExactly("T", "D:'b'", "C:SELECT 1", "Z:I");
                assertThat(s.postgres.connections).hasSize(1);
            }, "max_prepared_statements = " + maxPrepared);
        }
    }

    @Test
    void copyFromStdinGivesItsServerBackOnlyAfterItEnds() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient a = s.login("tx", split);
            FakeClient b = s.login("tx", split);
            // As libpq sends it: a Sync right after the Execute, which the backend in COPY ignores.
            a.send(extendedQuery("COPY t FROM STDIN"));
            assertThat(List.of(a.next(), a.next(), a.next())).containsExactly("1", "2", "G");
            b.send(query("SELECT 'b'"));
            a.send(copyData("1\n"));
            s.postgres.connection(0).awaitReceived("d:1\n");
            assertThat(b.drain()).as("b waits while a's COPY runs").isEmpty();
            a.send(copyData("2\n"), copyDone(), sync());
            assertThat(a.untilReady()).containsExactly("C:COPY 2", "Z:I");
            assertThat(b.untilReady()).containsExactly("T", "D:'b'", "C:SELECT 1", "Z:I");

            // A COPY failing on its data: the error ends copy mode; the Sync after it counts.
            a.send(extendedQuery("COPY t FROM STDIN"));
            assertThat(List.of(a.next(), a.next(), a.next())).containsExactly("1", "2", "G");
            a.send(copyData("bad\n"), copyDone(), sync());
            assertThat(a.untilReady())
                    .containsExactly("E:22P02:invalid input syntax for type integer: \"bad\"", "Z:I");

            // The simple protocol's COPY: ReadyForQuery after CopyDone.
            a.send(query("COPY t FROM STDIN"));
            assertThat(a.next()).isEqualTo("G");
            a.send(copyData("7\n"), copyDone());
            assertThat(a.untilReady()).containsExactly("C:COPY 1", "Z:I");

            b.send(query("SELECT pg_backend_pid()"));
            assertThat(b.untilReady()).as("the same server, free again").contains("D:1001");
            assertThat(s.postgres.connections).hasSize(1);
            assertThat(s.pool("tx")).isEqualTo("login 0 idle 1 active 0 reset 0 waiting 0");
        });
    }

    @Test
    void aParameterSyncQueryIsSluicesOwnAndItsReplyIsNotRelayed() throws Exception {
        eachSplit(dir, (s, split) -> {
            FakeClient plain = s.login("tx", split);
            plain.send(query("SELECT 1"));
            assertThat(plain.untilReady()).isEqualTo(SELECT_1);

            FakeClient named = s.login("tx", split, "application_name", "billing");
            named.send(query("SELECT 2"));
            assertThat(named.untilReady()).containsExactly("T", "D:2", "C:SELECT 1", "Z:I");
            assertThat(s.postgres.connection(0).received)
                    .containsExactly("Q:SELECT 1", "Q:SET application_name = 'billing';", "Q:SELECT 2");
        });
    }

    @Test
    void aCancelRequestReachesTheServerWithTheServersKeyNotTheClients() throws Exception {
        eachSplit(dir, (s, split) -> {
            s.postgres.script = (conn, m) -> m.equals("Q:SELECT pg_sleep(60)");
            FakeClient a = s.login("tx", split);
            a.send(query("SELECT pg_sleep(60)"));
            FakePostgres.Backend server = s.postgres.connection(0);
            server.awaitReceived("Q:SELECT pg_sleep(60)");

            // The client knows Sluice's key for it; Sluice sends the server's own.
            int[] key = a.cancelKey;
            assertThat(key[0]).isNotEqualTo(server.pid);
            FakeClient canceller = s.connect(split);
            canceller.send(Wire.cancelRequest(key[0], key[1]));
            assertThat(canceller.untilClosed()).as("the requester is only closed").isEmpty();
            // Closed once the fake has closed the cancel connection, so it is recorded by now.
            assertThat(s.postgres.cancels).containsExactly(server.pid + "/" + server.key);

            server.sendNow(Wire.error("ERROR", "57014", "canceling statement due to user request"),
                    Wire.readyForQuery('I'));
            assertThat(a.untilReady()).containsExactly("E:57014:canceling statement due to user request", "Z:I");

            // A wrong key is dropped: nothing reaches the server.
            FakeClient stranger = s.connect(split);
            stranger.send(Wire.cancelRequest(key[0], key[1] + 1));
            assertThat(stranger.untilClosed()).isEmpty();
            assertThat(s.postgres.cancels).hasSize(1);
        });
    }
}
