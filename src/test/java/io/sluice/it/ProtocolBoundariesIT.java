package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.sluice.protocol.PgWriter;
import io.sluice.testing.LeakCheck;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A server goes to the next client only where the last one's requests end: after the Sync that
 * closes its extended-protocol messages, never in the middle of a message, and after a COPY
 * FROM STDIN sent with the extended protocol (whose first Sync PostgreSQL ignores). Each test
 * runs with prepared-statement tracking off (max_prepared_statements = 0) and on (200), since
 * the tracking keeps its own count of replies owed.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ProtocolBoundariesIT {
    private static final String DATABASES =
            "one = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1 pool_mode=transaction";
    private static final String USER = "md5user";
    private static final String PASSWORD = "md5pass";

    @BeforeAll
    static void table() throws Exception {
        try (Connection c = TestPostgres.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS copy_target");
            st.execute("CREATE TABLE copy_target (n int)");
            st.execute("GRANT ALL ON copy_target TO " + USER);
        }
    }

    private static SluiceHarness sluice(int maxPrepared, String more) {
        return SluiceHarness.start(DATABASES, "auth_type = md5\nmax_prepared_statements = " + maxPrepared + more,
                SluiceHarness.USERLIST, 1);
    }

    private static String types(List<PgWire.Msg> msgs) {
        StringBuilder sb = new StringBuilder();
        for (PgWire.Msg m : msgs) {
            sb.append(m.type());
        }
        return sb.toString();
    }

    private static String firstRow(List<PgWire.Msg> msgs) {
        return msgs.stream().filter(m -> m.type() == 'D').findFirst().orElseThrow().firstColumn();
    }

    @ParameterizedTest(name = "max_prepared_statements = {0}")
    @ValueSource(ints = {0, 200})
    void aBatchNotYetSyncedKeepsItsServer(int maxPrepared) throws Exception {
        try (SluiceHarness h = sluice(maxPrepared, "");
                PgWire a = new PgWire(h.port(), USER, PASSWORD, "one");
                PgWire b = new PgWire(h.port(), USER, PASSWORD, "one")) {
            // A pipelining client: one batch synced, the next one begun.
            a.send(x -> {
                PgWire.extendedQuery(x, "SELECT 'first'");
                PgWire.parse(x, "", "SELECT 'second'");
            });
            List<PgWire.Msg> first = a.untilReady();
            assertThat(types(first)).isEqualTo("12DCZ");
            assertThat(firstRow(first)).isEqualTo("first");

            // The pool's only server still holds a's Parse: b waits for it.
            b.send(x -> PgWriter.query(x, "SELECT 'other'"));
            Thread.sleep(300);
            assertThat(b.in.available()).as("b must wait while a's batch is open").isZero();

            a.send(x -> {
                PgWire.bind(x, "");
                PgWire.execute(x);
                PgWire.sync(x);
            });
            List<PgWire.Msg> second = a.untilReady();
            assertThat(types(second)).isEqualTo("12DCZ");
            assertThat(firstRow(second)).isEqualTo("second");

            List<PgWire.Msg> other = b.untilReady();
            assertThat(types(other)).isEqualTo("TDCZ");
            assertThat(firstRow(other)).isEqualTo("other");
        }
    }

    @ParameterizedTest(name = "max_prepared_statements = {0}")
    @ValueSource(ints = {0, 200})
    void aClientLeavingMidBatchOrMidMessageTakesItsServerWithIt(int maxPrepared) throws Exception {
        try (SluiceHarness h = sluice(maxPrepared, "")) {
            List<String> pids = new ArrayList<>();
            for (int round = 0; round < 2; round++) {
                boolean midMessage = round == 1;
                try (PgWire a = new PgWire(h.port(), USER, PASSWORD, "one")) {
                    a.send(x -> PgWriter.query(x, "SELECT pg_backend_pid()"));
                    pids.add(firstRow(a.untilReady()));
                    ByteBuf parse = Unpooled.buffer();
                    PgWire.parse(parse, "", "SELECT 'left behind'");
                    byte[] bytes = ByteBufUtil.getBytes(parse);
                    parse.release();
                    // A Parse with no Sync after it, or all of a Parse but its last byte.
                    a.out.write(bytes, 0, midMessage ? bytes.length - 1 : bytes.length);
                    a.out.flush();
                    Thread.sleep(200);
                }
                try (PgWire b = new PgWire(h.port(), USER, PASSWORD, "one")) {
                    b.send(x -> PgWriter.query(x, "SELECT pg_backend_pid()"));
                    List<PgWire.Msg> reply = b.untilReady();
                    assertThat(types(reply)).as("nothing of the last client's in b's reply").isEqualTo("TDCZ");
                    assertThat(firstRow(reply)).as("a new server, the old one closed").isNotEqualTo(pids.get(round));
                }
            }
        }
    }

    @ParameterizedTest(name = "max_prepared_statements = {0}")
    @ValueSource(ints = {0, 200})
    void extendedProtocolCopyFromStdinGivesItsServerBack(int maxPrepared) throws Exception {
        try (SluiceHarness h = sluice(maxPrepared, "");
                PgWire a = new PgWire(h.port(), USER, PASSWORD, "one")) {
            // As libpq and tokio-postgres send it: a Sync after the Execute, and one after CopyDone.
            // PostgreSQL is in copy mode when the first arrives and ignores it.
            a.send(x -> {
                PgWire.parse(x, "", "COPY copy_target FROM STDIN");
                PgWire.bind(x, "");
                PgWire.execute(x);
                PgWire.sync(x);
            });
            assertThat(a.read().type()).isEqualTo('1');
            assertThat(a.read().type()).isEqualTo('2');
            assertThat(a.read().type()).isEqualTo('G');
            a.send(x -> {
                PgWire.copyData(x, "1\n2\n");
                PgWire.copyDone(x);
                PgWire.sync(x);
            });
            assertThat(types(a.untilReady())).isEqualTo("CZ");

            // A COPY that fails on its data: the error ends copy mode, the Sync after it counts.
            a.send(x -> {
                PgWire.parse(x, "", "COPY copy_target FROM STDIN");
                PgWire.bind(x, "");
                PgWire.execute(x);
                PgWire.sync(x);
            });
            assertThat(types(List.of(a.read(), a.read(), a.read()))).isEqualTo("12G");
            a.send(x -> {
                PgWire.copyData(x, "not a number\n");
                PgWire.copyDone(x);
                PgWire.sync(x);
            });
            assertThat(types(a.untilReady())).isEqualTo("EZ");

            // The server answers a's next query as its own, and then goes to another client.
            a.send(x -> PgWire.extendedQuery(x, "SELECT 'after copy'"));
            List<PgWire.Msg> after = a.untilReady();
            assertThat(types(after)).isEqualTo("12DCZ");
            assertThat(firstRow(after)).isEqualTo("after copy");
            try (PgWire b = new PgWire(h.port(), USER, PASSWORD, "one")) {
                b.socket.setSoTimeout(10_000);
                b.send(x -> PgWriter.query(x, "SELECT count(*) FROM copy_target WHERE n IN (1, 2)"));
                List<PgWire.Msg> count = b.untilReady();
                assertThat(types(count)).isEqualTo("TDCZ");
                assertThat(Integer.parseInt(firstRow(count))).isPositive().isEven();
            }
        }
    }

    @Test
    void aDescribeWithNoBodyGetsAnErrorNotASilentClose() throws Exception {
        try (SluiceHarness h = sluice(200, "");
                PgWire a = new PgWire(h.port(), USER, PASSWORD, "one")) {
            a.out.write(new byte[] {'D', 0, 0, 0, 4});
            a.out.flush();
            PgWire.Msg m = a.read();
            assertThat(m.type()).isEqualTo('E');
            assertThat(PgWire.field(m, 'V')).isEqualTo("FATAL");
            assertThat(PgWire.field(m, 'C')).isEqualTo("08P01");
            assertThat(PgWire.errorMessage(m)).isEqualTo("invalid message format");
            assertThat(a.closedByPeer()).isTrue();
        }
    }

    @Test
    void aServerThatNeverAnswersItsLoginTimesOut() throws Exception {
        // Accepts connections and reads nothing: a hung backend or a proxy with nothing behind it.
        try (ServerSocket silent = new ServerSocket(0)) {
            List<Socket> accepted = Collections.synchronizedList(new ArrayList<>());
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        accepted.add(silent.accept());
                    }
                } catch (Exception e) {
                    // closed at the end of the test
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            String databases = "silent = host=127.0.0.1 port=" + silent.getLocalPort()
                    + " dbname=postgres pool_size=1 pool_mode=transaction";
            String settings = "auth_type = md5\nserver_connect_timeout = 1\nquery_wait_timeout = 60";
            try (SluiceHarness h = SluiceHarness.start(databases, settings, SluiceHarness.USERLIST, 1)) {
                long start = System.nanoTime();
                // The client waits for the pool's first server login, which never comes.
                assertThatThrownBy(() -> new PgWire(h.port(), USER, PASSWORD, "silent").close())
                        .hasMessageContaining("server login timed out (server_connect_timeout)");
                long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertThat(waited).as("well before query_wait_timeout").isLessThan(15_000);
            } finally {
                synchronized (accepted) {
                    for (Socket s : accepted) {
                        s.close();
                    }
                }
            }
        }
    }
}
