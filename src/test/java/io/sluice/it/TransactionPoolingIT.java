package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.protocol.PgWriter;
import io.sluice.testing.LeakCheck;
import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

/**
 * Transaction and statement pooling through Sluice against a real PostgreSQL: every protocol
 * flow real drivers use, while servers change between transactions.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class TransactionPoolingIT {
    static final String DATABASES = String.join("\n",
            "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=5 pool_mode=transaction",
            "tx1 = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1 pool_mode=transaction",
            "stmt = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=2 pool_mode=statement");
    static final String SETTINGS = String.join("\n",
            "auth_type = md5",
            "max_client_conn = 400",
            "ignore_startup_parameters = extra_float_digits");
    private static SluiceHarness sluice;

    @BeforeAll
    static void start() throws SQLException {
        sluice = SluiceHarness.start(DATABASES, SETTINGS, SluiceHarness.USERLIST);
        try (Connection c = TestPostgres.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS items");
            st.execute("CREATE TABLE items (id serial PRIMARY KEY, owner text, n int)");
            st.execute("GRANT ALL ON items TO md5user");
            st.execute("GRANT ALL ON SEQUENCE items_id_seq TO md5user");
        }
    }

    @AfterAll
    static void stop() {
        sluice.close();
    }

    /** pgjdbc in transaction mode: no server-side prepared statements (that is issue 4's job). */
    static Connection connect(SluiceHarness h, String db) throws SQLException {
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "0");
        return h.connect(db, "md5user", "md5pass", p);
    }

    private static SluiceHarness singleLoop() {
        return SluiceHarness.start(DATABASES, SETTINGS, SluiceHarness.USERLIST, 1);
    }

    @Test
    void pgbenchTpcbSimpleAndExtendedHundredClientsOverFive() throws Exception {
        TestPostgres.loadPgbench();
        for (String mode : List.of("simple", "extended")) {
            var run = SluiceHarness.run("pgbench", "-n", "-c", "100", "-j", "2", "-T", "6", "-M", mode,
                    "postgresql://md5user:md5pass@127.0.0.1:" + sluice.port() + "/tx");
            assertThat(run.exitCode()).as(run.output()).isZero();
            assertThat(run.output()).contains("number of failed transactions: 0 (0.000%)");
            assertThat(run.output()).containsPattern("number of transactions actually processed: [1-9]");
        }
        // pgbench's select-only script: one statement per transaction, simple protocol.
        var selectOnly = SluiceHarness.run("pgbench", "-n", "-S", "-c", "100", "-j", "2", "-T", "4",
                "postgresql://md5user:md5pass@127.0.0.1:" + sluice.port() + "/tx");
        assertThat(selectOnly.exitCode()).as(selectOnly.output()).isZero();
        assertThat(selectOnly.output()).contains("number of failed transactions: 0 (0.000%)");
        try (Connection d = TestPostgres.direct()) {
            assertThat(Integer.parseInt(scalar(d, "SELECT count(*) FROM pg_stat_activity WHERE usename = 'md5user'"
                    + " AND datname = 'postgres' AND application_name = ''")))
                    .as("server connections of the tx pool").isLessThanOrEqualTo(5);
        }
    }

    @Test
    void jdbcBatchesAutocommitOffAndSavepointsAcrossManyThreads() throws Exception {
        SluiceHarness.concurrently(16, 120, id -> {
            String owner = "batch-" + id;
            try (Connection c = connect(sluice, "tx")) {
                c.setAutoCommit(false);
                for (int round = 0; round < 10; round++) {
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO items (owner, n) VALUES (?, ?)")) {
                        for (int i = 0; i < 20; i++) {
                            ps.setString(1, owner);
                            ps.setInt(2, round * 100 + i);
                            ps.addBatch();
                        }
                        assertThat(ps.executeBatch()).hasSize(20);
                    }
                    Savepoint sp = c.setSavepoint();
                    try (Statement st = c.createStatement()) {
                        st.execute("INSERT INTO items (owner, n) VALUES ('" + owner + "', -1)");
                    }
                    c.rollback(sp);
                    if (round % 3 == 0) {
                        c.rollback();
                    } else {
                        c.commit();
                    }
                }
                c.setAutoCommit(true);
                assertThat(scalar(c, "SELECT count(*) FROM items WHERE owner = '" + owner + "'"))
                        .isEqualTo(String.valueOf(6 * 20));
                assertThat(scalar(c, "SELECT count(*) FROM items WHERE owner = '" + owner + "' AND n < 0"))
                        .isEqualTo("0");
            }
        });
    }

    @Test
    void copyInAndOutIncludingFailures() throws Exception {
        try (Connection c = connect(sluice, "tx")) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            StringBuilder rows = new StringBuilder();
            for (int i = 0; i < 5000; i++) {
                rows.append("copy-in\t").append(i).append('\n');
            }
            long n = copy.copyIn("COPY items (owner, n) FROM STDIN",
                    new ByteArrayInputStream(rows.toString().getBytes(StandardCharsets.UTF_8)));
            assertThat(n).isEqualTo(5000);
            StringWriter out = new StringWriter();
            long m = copy.copyOut("COPY (SELECT n FROM items WHERE owner = 'copy-in' ORDER BY n) TO STDOUT", out);
            assertThat(m).isEqualTo(5000);
            assertThat(out.toString()).startsWith("0\n1\n2\n").endsWith("4999\n");

            // Bad data: the server's error, and the connection goes on.
            assertThatThrownBy(() -> copy.copyIn("COPY items (owner, n) FROM STDIN",
                    new ByteArrayInputStream("x\tnot-a-number\n".getBytes(StandardCharsets.UTF_8))))
                    .isInstanceOf(SQLException.class).hasMessageContaining("invalid input syntax");
            // CopyFail from the client.
            CopyIn in = copy.copyIn("COPY items (owner, n) FROM STDIN");
            byte[] row = "copy-fail\t1\n".getBytes(StandardCharsets.UTF_8);
            in.writeToCopy(row, 0, row.length);
            in.cancelCopy();
            assertThat(scalar(c, "SELECT count(*) FROM items WHERE owner = 'copy-fail'")).isEqualTo("0");
            assertThat(scalar(c, "SELECT 'after copy'")).isEqualTo("after copy");
        }
    }

    @Test
    void otherFlowsPassThrough() throws Exception {
        try (Connection c = connect(sluice, "tx")) {
            // EmptyQueryResponse
            try (Statement st = c.createStatement()) {
                assertThat(st.execute("")).isFalse();
            }
            // NoticeResponse
            try (Statement st = c.createStatement()) {
                st.execute("DO $$ BEGIN RAISE NOTICE 'hello notice'; END $$");
                assertThat((Object) st.getWarnings()).isNotNull();
                assertThat(st.getWarnings().getMessage()).contains("hello notice");
            }
            // NotificationResponse (delivered before ReadyForQuery of the same transaction)
            try (Statement st = c.createStatement()) {
                // One implicit transaction: the notification comes at its commit, before ReadyForQuery.
                st.execute("LISTEN sluice_chan; NOTIFY sluice_chan, 'payload-1'");
            }
            PGNotification[] notes = c.unwrap(PGConnection.class).getNotifications();
            assertThat(notes).isNotNull();
            assertThat(notes[0].getParameter()).isEqualTo("payload-1");
            // Multi-statement simple query
            try (Statement st = c.createStatement()) {
                st.execute("SELECT 1; SELECT 2; SELECT 3");
                int results = 1;
                while (st.getMoreResults()) {
                    results++;
                }
                assertThat(results).isEqualTo(3);
            }
            // A row over 1 MB
            assertThat(scalar(c, "SELECT length(repeat('x', 3000000))")).isEqualTo("3000000");
            assertThat(scalar(c, "SELECT repeat('y', 3000000)")).hasSize(3000000);
            // FunctionCall: pgjdbc's large objects use the fastpath protocol ('F').
            c.setAutoCommit(false);
            LargeObjectManager lom = c.unwrap(PGConnection.class).getLargeObjectAPI();
            long oid = lom.createLO();
            try (LargeObject lo = lom.open(oid, LargeObjectManager.READWRITE)) {
                lo.write("large object bytes".getBytes(StandardCharsets.UTF_8));
                lo.seek(0);
                assertThat(new String(lo.read(18), StandardCharsets.UTF_8)).isEqualTo("large object bytes");
            }
            lom.delete(oid);
            c.commit();
            c.setAutoCommit(true);
            // An error in the middle of a pipeline: pgjdbc batches are pipelined with one Sync.
            try (Statement st = c.createStatement()) {
                st.addBatch("SELECT 1");
                st.addBatch("SELECT 1/0");
                st.addBatch("SELECT 2");
                assertThatThrownBy(st::executeBatch).isInstanceOf(SQLException.class);
            }
            assertThat(scalar(c, "SELECT 'after pipeline error'")).isEqualTo("after pipeline error");
        }
    }

    @Test
    void statementModeRejectsTransactionBlocks() throws Exception {
        try (Connection c = connect(sluice, "stmt")) {
            assertThat(scalar(c, "SELECT 'statement one'")).isEqualTo("statement one");
            assertThat(scalar(c, "SELECT 'statement two'")).isEqualTo("statement two");
            try (Statement st = c.createStatement()) {
                assertThatThrownBy(() -> st.execute("BEGIN"))
                        .isInstanceOf(SQLException.class)
                        .hasMessageContaining("transaction blocks not allowed in statement pooling mode");
            }
        }
        try (Connection c = connect(sluice, "stmt")) {
            c.setAutoCommit(false);
            assertThatThrownBy(() -> scalar(c, "SELECT 1"))
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("transaction blocks not allowed in statement pooling mode");
        }
        // The server it had is not left inside that block.
        for (int i = 0; i < 4; i++) {
            try (Connection c = connect(sluice, "stmt"); Statement st = c.createStatement()) {
                // Outside a transaction block SAVEPOINT is refused; inside one it would work.
                assertThatThrownBy(() -> st.execute("SAVEPOINT probe"))
                        .hasMessageContaining("can only be used in transaction blocks");
            }
        }
    }

    @Test
    void clientKilledMidTransactionLeavesACleanServer() throws Exception {
        try (SluiceHarness h = singleLoop()) {
            int pid;
            Connection c = connect(h, "tx1");
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("INSERT INTO items (owner, n) VALUES ('killed', 1)");
                pid = Integer.parseInt(scalar(c, "SELECT pg_backend_pid()"));
            }
            c.abort(Runnable::run);
            try (Connection next = connect(h, "tx1")) {
                assertThat(scalar(next, "SELECT pg_backend_pid()")).isEqualTo(String.valueOf(pid));
                assertThat(scalar(next, "SELECT txid_current_if_assigned()")).isNull();
                assertThat(scalar(next, "SELECT count(*) FROM items WHERE owner = 'killed'")).isEqualTo("0");
            }
        }
    }

    @Test
    void terminateBetweenTransactionsClosesAtOnceWhileTheServerIsBusy() throws Exception {
        try (Connection busy = connect(sluice, "tx1");
                PgWire quitter = new PgWire(sluice.port(), "md5user", "md5pass", "tx1")) {
            busy.setAutoCommit(false);
            // An open transaction holds tx1's only server.
            assertThat(scalar(busy, "SELECT 'holding'")).isEqualTo("holding");
            quitter.socket.setSoTimeout(5_000);
            quitter.send(PgWriter::terminate);
            // Closed by Sluice now, not once a server is free to be given to a client that left.
            assertThat(quitter.in.read()).isEqualTo(-1);
            busy.commit();
        }
    }

    @Test
    void clientsThatLeaveWhileWaitingDoNotDisturbTheOthers() throws Exception {
        try (Connection busy = connect(sluice, "tx1")) {
            busy.setAutoCommit(false);
            assertThat(scalar(busy, "SELECT 'holding'")).isEqualTo("holding");
            List<PgWire> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 6; i++) {
                    PgWire w = new PgWire(sluice.port(), "md5user", "md5pass", "tx1");
                    clients.add(w);
                    String sql = "SELECT 'client " + i + "'";
                    w.send(b -> PgWriter.query(b, sql));
                }
                // Let Sluice queue all six behind the busy server, then the first, a middle one
                // and the last go away while they wait.
                Thread.sleep(300);
                for (int gone : new int[] {0, 3, 5}) {
                    clients.get(gone).close();
                }
                Thread.sleep(100);
                busy.commit();
                for (int i : new int[] {1, 2, 4}) {
                    List<PgWire.Msg> reply = clients.get(i).untilReady();
                    assertThat(reply).extracting(PgWire.Msg::type).containsExactly('T', 'D', 'C', 'Z');
                    assertThat(reply.get(1).firstColumn()).isEqualTo("client " + i);
                }
            } finally {
                for (PgWire w : clients) {
                    w.close();
                }
            }
        }
        try (Connection after = connect(sluice, "tx1")) {
            assertThat(scalar(after, "SELECT 'served after'")).isEqualTo("served after");
        }
    }

    @Test
    void trackedParametersFollowEachClientAcrossServers() throws Exception {
        try (SluiceHarness h = singleLoop();
                Connection a = connect(h, "tx1");
                Connection b = connect(h, "tx1");
                Connection c = connect(h, "tx1")) {
            String usual = scalar(c, "SHOW TimeZone");
            try (Statement st = a.createStatement()) {
                st.execute("SET TimeZone = 'Asia/Tokyo'");
            }
            try (Statement st = b.createStatement()) {
                st.execute("SET TimeZone = 'America/New_York'");
            }
            for (int i = 0; i < 3; i++) {
                assertThat(scalar(a, "SHOW TimeZone")).isEqualTo("Asia/Tokyo");
                assertThat(scalar(b, "SHOW TimeZone")).isEqualTo("America/New_York");
                // The client that never set it keeps the server's usual value, run after run
                // (after another client's values, and again right after its own).
                assertThat(scalar(c, "SHOW TimeZone")).isEqualTo(usual);
                assertThat(scalar(c, "SHOW TimeZone")).isEqualTo(usual);
            }
            assertThat(scalar(a, "SELECT pg_backend_pid()")).as("one server serves both")
                    .isEqualTo(scalar(b, "SELECT pg_backend_pid()"));
            try (Statement st = a.createStatement()) {
                st.execute("SET application_name = 'client-a'");
            }
            assertThat(scalar(b, "SELECT current_setting('application_name')")).isNotEqualTo("client-a");
            assertThat(scalar(a, "SELECT current_setting('application_name')")).isEqualTo("client-a");
        }
    }

    /**
     * Backpressure: a client that does not read a 200 MB result makes Sluice stop reading from
     * its server, so Sluice's buffers stay small and other clients keep going.
     */
    @Test
    void slowReaderIsBackpressuredWithoutSlowingOthers() throws Exception {
        int rows = 200_000;
        try (PgWire slow = new PgWire(sluice.port(), "md5user", "md5pass", "tx")) {
            slow.send(b -> io.sluice.protocol.PgWriter.query(b,
                    "SELECT repeat('x', 1000) FROM generate_series(1, " + rows + ")"));
            Thread.sleep(1500);
            long used = directMemoryInUse();
            long start = System.nanoTime();
            try (Connection c = connect(sluice, "tx")) {
                for (int i = 0; i < 300; i++) {
                    assertThat(scalar(c, "SELECT " + i)).isEqualTo(String.valueOf(i));
                }
            }
            long othersMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(othersMs).as("300 queries of another client while one reads nothing").isLessThan(15_000);
            assertThat(used).as("Netty direct memory in use while the reader stalls").isLessThan(32L << 20);
            assertThat(directMemoryInUse()).isLessThan(32L << 20);
            int dataRows = 0;
            while (true) {
                PgWire.Msg m = slow.read();
                if (m.type() == 'D') {
                    dataRows++;
                } else if (m.type() == 'Z') {
                    break;
                }
            }
            assertThat(dataRows).isEqualTo(rows);
        }
    }

    private static long directMemoryInUse() {
        io.netty.buffer.ByteBufAllocator alloc = io.netty.buffer.ByteBufAllocator.DEFAULT;
        assertThat(alloc).isInstanceOf(io.netty.buffer.ByteBufAllocatorMetricProvider.class);
        return ((io.netty.buffer.ByteBufAllocatorMetricProvider) alloc).metric().usedDirectMemory();
    }

    /** pool_mode in [users] wins over the database's: two clients share a pool of one at once. */
    @Test
    void poolModeSetPerUser() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(
                "one = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1\n\n"
                        + "[users]\nplainuser = pool_mode=transaction",
                SETTINGS, SluiceHarness.USERLIST, 1)) {
            Properties p = new Properties();
            p.setProperty("prepareThreshold", "0");
            try (Connection a = h.connect("one", "plainuser", "plainpass", p);
                    Connection b = h.connect("one", "plainuser", "plainpass", p)) {
                assertThat(scalar(a, "SELECT 'a'")).isEqualTo("a");
                assertThat(scalar(b, "SELECT 'b'")).isEqualTo("b");
                assertThat(scalar(a, "SELECT pg_backend_pid()")).isEqualTo(scalar(b, "SELECT pg_backend_pid()"));
            }
            // md5user has no [users] entry: the database's session mode holds its one server.
            try (Connection a = h.connect("one", "md5user", "md5pass")) {
                scalar(a, "SELECT 1");
                ExecutorService ex = Executors.newSingleThreadExecutor();
                try {
                    Future<String> b = ex.submit(() -> {
                        try (Connection c = h.connect("one", "md5user", "md5pass")) {
                            return scalar(c, "SELECT 'b'");
                        }
                    });
                    Thread.sleep(800);
                    assertThat(b.isDone()).as("session mode: waits for the first session to end").isFalse();
                    a.close();
                    assertThat(b.get(20, TimeUnit.SECONDS)).isEqualTo("b");
                } finally {
                    ex.shutdownNow();
                }
            }
        }
    }
}
