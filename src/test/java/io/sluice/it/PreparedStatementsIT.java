package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.metrics.PoolCounters;
import io.sluice.protocol.PgWriter;
import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Named prepared statements in transaction mode, against a real PostgreSQL. */
@ExtendWith(LeakCheck.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class PreparedStatementsIT {
    private static final String DATABASES = String.join("\n",
            "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=5 pool_mode=transaction",
            "small = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=3 pool_mode=transaction",
            "two = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=2 pool_mode=transaction",
            "one = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1 pool_mode=transaction");
    private static final String SETTINGS = "auth_type = md5\nmax_client_conn = 400";
    private static SluiceHarness sluice;

    @BeforeAll
    static void start() throws Exception {
        sluice = SluiceHarness.start(DATABASES, SETTINGS, SluiceHarness.USERLIST);
        try (Connection c = TestPostgres.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS shape");
            st.execute("CREATE TABLE shape (a int)");
            st.execute("INSERT INTO shape VALUES (1)");
            st.execute("GRANT ALL ON shape TO md5user");
        }
    }

    @AfterAll
    static void stop() {
        sluice.close();
    }

    private static SluiceHarness singleLoop(String extra) {
        return SluiceHarness.start(DATABASES, SETTINGS + "\n" + extra, SluiceHarness.USERLIST, 1);
    }

    private static PoolCounters pool(SluiceHarness h, String db) {
        return h.sluice().metrics().find(db, "md5user").orElseThrow();
    }

    @Test
    void pgbenchPreparedHundredClientsOverFive() throws Exception {
        TestPostgres.loadPgbench();
        // select-only, then tpcb-like. pgbench prepares each command with a blocking PQprepare
        // the first time it runs it, inside the script's transaction: with several clients per
        // thread, one client blocked on a server would stall the others holding all five
        // (with any transaction pooler), so the multi-statement script gets a thread per client.
        for (List<String> args : List.of(List.of("-S", "-j", "2"), List.of("-b", "tpcb-like", "-j", "100"))) {
            List<String> cmd = new ArrayList<>(List.of("-n", "-M", "prepared", "-c", "100", "-T", "5"));
            cmd.addAll(args);
            cmd.add("postgresql://md5user:md5pass@127.0.0.1:" + sluice.port() + "/tx");
            var run = SluiceHarness.run("pgbench", cmd.toArray(new String[0]));
            assertThat(run.exitCode()).as(run.output()).isZero();
            assertThat(run.output()).contains("number of failed transactions: 0 (0.000%)");
            assertThat(run.output()).containsPattern("number of transactions actually processed: [1-9]");
        }
        PoolCounters pool = pool(sluice, "tx");
        assertThat(pool.clientParses()).isGreaterThan(0);
        assertThat(pool.binds()).isGreaterThan(pool.clientParses());
        assertThat(pool.serverParses()).as("server parses shared across clients")
                .isLessThan(pool.clientParses());
    }

    @Test
    void pgjdbcPrepareThresholdOneOverASmallPoolManyThreads() throws Exception {
        SluiceHarness.concurrently(24, 120, id -> {
            Properties p = new Properties();
            p.setProperty("prepareThreshold", "1");
            try (Connection c = sluice.connect("small", "md5user", "md5pass", p)) {
                List<PreparedStatement> statements = new ArrayList<>();
                for (int k = 0; k < 5; k++) {
                    statements.add(c.prepareStatement("SELECT ?::int + " + k + ", '" + (id % 3) + "'"));
                }
                for (int round = 0; round < 60; round++) {
                    for (int k = 0; k < 5; k++) {
                        PreparedStatement ps = statements.get(k);
                        ps.setInt(1, id * 1000 + round);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            assertThat(rs.getInt(1)).isEqualTo(id * 1000 + round + k);
                            assertThat(rs.getString(2)).isEqualTo(String.valueOf(id % 3));
                        }
                    }
                }
                for (PreparedStatement ps : statements) {
                    ps.close();
                }
            }
        });
    }

    @Test
    void leastRecentlyUsedStatementsAreEvicted() throws Exception {
        try (SluiceHarness h = singleLoop("max_prepared_statements = 2");
                PgWire w = new PgWire(h.port(), "md5user", "md5pass", "one")) {
            for (int k = 1; k <= 4; k++) {
                int n = k;
                w.send(b -> {
                    PgWire.parse(b, "S" + n, "SELECT " + n * 10);
                    PgWire.bind(b, "S" + n);
                    PgWire.execute(b);
                    PgWire.sync(b);
                });
                List<PgWire.Msg> msgs = new ArrayList<>();
                assertThat(w.typesUntilReady(msgs)).isEqualTo("12DCZ");
                assertThat(msgs.get(2).firstColumn()).isEqualTo(String.valueOf(n * 10));
            }
            // S1 was evicted from the server; it is prepared again, unseen.
            w.send(b -> PgWire.bindExecuteSync(b, "S1"));
            List<PgWire.Msg> msgs = new ArrayList<>();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("2DCZ");
            assertThat(msgs.get(1).firstColumn()).isEqualTo("10");
            w.send(b -> PgWriter.query(b, "SELECT count(*) FROM pg_prepared_statements"));
            msgs.clear();
            w.typesUntilReady(msgs);
            assertThat(Integer.parseInt(msgs.get(1).firstColumn())).as("statements on the server").isLessThanOrEqualTo(2);
        }
    }

    @Test
    void aNameWhoseParseFailedOrWasSkippedCanBeParsedAgain() throws Exception {
        try (SluiceHarness h = singleLoop("");
                PgWire w = new PgWire(h.port(), "md5user", "md5pass", "one")) {
            // S1 fails; S2, after it in the same batch, is skipped: neither exists afterwards.
            w.send(b -> {
                PgWire.parse(b, "S1", "SELECT no_such_column");
                PgWire.parse(b, "S2", "SELECT 2");
                PgWire.sync(b);
            });
            List<PgWire.Msg> msgs = new ArrayList<>();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("EZ");
            assertThat(PgWire.field(msgs.get(0), 'C')).isEqualTo("42703");
            for (int n = 1; n <= 2; n++) {
                int k = n;
                // As on a direct connection: the name is free, so this Parse succeeds.
                w.send(b -> PgWire.parseBindExecuteSync(b, "S" + k, "SELECT " + k * 100));
                msgs.clear();
                assertThat(w.typesUntilReady(msgs)).isEqualTo("12DCZ");
                assertThat(msgs.get(2).firstColumn()).isEqualTo(String.valueOf(k * 100));
            }
        }
    }

    @Test
    void sluicesOwnCloseWaitsForTheEndOfAMessageCutAcrossReads() throws Exception {
        try (SluiceHarness h = singleLoop("");
                PgWire w = new PgWire(h.port(), "md5user", "md5pass", "one")) {
            w.send(b -> PgWire.parseSync(b, "S1", "SELECT 1"));
            assertThat(w.typesUntilReady(null)).isEqualTo("1Z");
            // A second Parse of S1 fails as on PostgreSQL, and leaves Sluice a Close to send.
            // A 50 kB query follows in the same write: it arrives in several reads.
            String big = "x".repeat(50_000);
            w.send(b -> {
                PgWire.parseSync(b, "S1", "SELECT 1");
                PgWriter.query(b, "SELECT length('" + big + "')");
            });
            List<PgWire.Msg> msgs = new ArrayList<>();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("EZ");
            assertThat(PgWire.field(msgs.get(0), 'C')).isEqualTo("42P05");
            msgs.clear();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("TDCZ");
            assertThat(msgs.get(1).firstColumn()).isEqualTo("50000");
            w.send(b -> PgWire.bindExecuteSync(b, "S1"));
            msgs.clear();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("2DCZ");
            assertThat(msgs.get(1).firstColumn()).isEqualTo("1");
        }
    }

    @Test
    void aDiscardAllSentWithTheExtendedProtocolIsSeen() throws Exception {
        try (SluiceHarness h = singleLoop("");
                PgWire a = new PgWire(h.port(), "md5user", "md5pass", "one");
                PgWire b = new PgWire(h.port(), "md5user", "md5pass", "one")) {
            a.send(x -> PgWire.parseBindExecuteSync(x, "S1", "SELECT 1"));
            assertThat(a.typesUntilReady(null)).isEqualTo("12DCZ");
            // As drivers send a plain statement: unnamed Parse, Bind, Execute, Sync.
            a.send(x -> PgWire.extendedQuery(x, "DISCARD ALL"));
            assertThat(a.typesUntilReady(null)).isEqualTo("12CZ");
            // The pool's one server no longer has the statement: b's use of it prepares it again.
            b.send(x -> PgWire.parseBindExecuteSync(x, "T1", "SELECT 1"));
            List<PgWire.Msg> msgs = new ArrayList<>();
            assertThat(b.typesUntilReady(msgs)).isEqualTo("12DCZ");
            assertThat(msgs.get(2).firstColumn()).isEqualTo("1");
        }
    }

    @Test
    void aDiscardAllThatFailsLeavesTheStatementsUsable() throws Exception {
        try (SluiceHarness h = singleLoop("");
                PgWire a = new PgWire(h.port(), "md5user", "md5pass", "one");
                PgWire b = new PgWire(h.port(), "md5user", "md5pass", "one")) {
            a.send(x -> PgWire.parseBindExecuteSync(x, "S1", "SELECT 1"));
            assertThat(a.typesUntilReady(null)).isEqualTo("12DCZ");
            a.send(x -> PgWriter.query(x, "BEGIN"));
            assertThat(a.typesUntilReady(null)).isEqualTo("CZ");
            a.send(x -> PgWriter.query(x, "DISCARD ALL"));
            List<PgWire.Msg> msgs = new ArrayList<>();
            assertThat(a.typesUntilReady(msgs)).isEqualTo("EZ");
            assertThat(PgWire.field(msgs.get(0), 'C')).isEqualTo("25001");
            a.send(x -> PgWriter.query(x, "ROLLBACK"));
            assertThat(a.typesUntilReady(null)).isEqualTo("CZ");
            // The statement is still on the server: b's Parse of the same query must not fail.
            b.send(x -> PgWire.parseBindExecuteSync(x, "T1", "SELECT 1"));
            msgs.clear();
            assertThat(b.typesUntilReady(msgs)).isEqualTo("12DCZ");
            assertThat(msgs.get(2).firstColumn()).isEqualTo("1");
        }
    }

    @Test
    void pipelinedSyncsAndAServerChangeHideTheReprepare() throws Exception {
        try (SluiceHarness h = singleLoop("");
                PgWire b = new PgWire(h.port(), "md5user", "md5pass", "two");
                PgWire a = new PgWire(h.port(), "md5user", "md5pass", "two")) {
            b.send(buf -> {
                PgWire.parse(buf, "S1", "SELECT 'one'");
                PgWire.bind(buf, "S1");
                PgWire.execute(buf);
                PgWire.sync(buf);
                PgWire.bind(buf, "S1");
                PgWire.execute(buf);
                PgWire.sync(buf);
                PgWire.parse(buf, "S2", "SELECT 'two'");
                PgWire.describeStatement(buf, "S2");
                PgWire.bind(buf, "S2");
                PgWire.execute(buf);
                PgWire.sync(buf);
            });
            assertThat(b.typesUntilReady(null)).isEqualTo("12DCZ");
            assertThat(b.typesUntilReady(null)).isEqualTo("2DCZ");
            assertThat(b.typesUntilReady(null)).isEqualTo("1tT2DCZ");
            // A takes the server B just used (idle servers are taken most recent first) and
            // keeps it inside a transaction; B's next transaction gets the other server.
            a.send(buf -> PgWriter.query(buf, "BEGIN; SELECT pg_backend_pid()"));
            List<PgWire.Msg> aMsgs = new ArrayList<>();
            a.typesUntilReady(aMsgs);
            b.send(buf -> PgWriter.query(buf, "SELECT pg_backend_pid()"));
            List<PgWire.Msg> bMsgs = new ArrayList<>();
            b.typesUntilReady(bMsgs);
            assertThat(bMsgs.get(1).firstColumn()).as("B is on another server now")
                    .isNotEqualTo(aMsgs.get(aMsgs.size() - 3).firstColumn());
            b.send(buf -> {
                PgWire.bind(buf, "S1");
                PgWire.execute(buf);
                PgWire.sync(buf);
                PgWire.bind(buf, "S2");
                PgWire.execute(buf);
                PgWire.sync(buf);
            });
            List<PgWire.Msg> msgs = new ArrayList<>();
            assertThat(b.typesUntilReady(msgs)).as("no ParseComplete for Sluice's re-prepare").isEqualTo("2DCZ");
            assertThat(msgs.get(1).firstColumn()).isEqualTo("one");
            msgs.clear();
            assertThat(b.typesUntilReady(msgs)).isEqualTo("2DCZ");
            assertThat(msgs.get(1).firstColumn()).isEqualTo("two");
            a.send(buf -> PgWriter.query(buf, "COMMIT"));
            a.typesUntilReady(null);
        }
    }

    @Test
    void sameNameDifferentTextsInTwoClients() throws Exception {
        try (SluiceHarness h = singleLoop("");
                PgWire a = new PgWire(h.port(), "md5user", "md5pass", "one");
                PgWire b = new PgWire(h.port(), "md5user", "md5pass", "one")) {
            a.send(buf -> PgWire.parseSync(buf, "S1", "SELECT 'from a'"));
            assertThat(a.typesUntilReady(null)).isEqualTo("1Z");
            b.send(buf -> PgWire.parseSync(buf, "S1", "SELECT 'from b'"));
            assertThat(b.typesUntilReady(null)).isEqualTo("1Z");
            for (int i = 0; i < 3; i++) {
                for (PgWire w : List.of(a, b)) {
                    w.send(buf -> PgWire.bindExecuteSync(buf, "S1"));
                    List<PgWire.Msg> msgs = new ArrayList<>();
                    assertThat(w.typesUntilReady(msgs)).isEqualTo("2DCZ");
                    assertThat(msgs.get(1).firstColumn()).isEqualTo(w == a ? "from a" : "from b");
                }
            }
            // A third client preparing A's text under another name shares A's server statement.
            try (PgWire c = new PgWire(h.port(), "md5user", "md5pass", "one")) {
                long serverParses = pool(h, "one").serverParses();
                c.send(buf -> {
                    PgWire.parse(buf, "mine", "SELECT 'from a'");
                    PgWire.bind(buf, "mine");
                    PgWire.execute(buf);
                    PgWire.sync(buf);
                });
                List<PgWire.Msg> msgs = new ArrayList<>();
                assertThat(c.typesUntilReady(msgs)).isEqualTo("12DCZ");
                assertThat(msgs.get(2).firstColumn()).isEqualTo("from a");
                assertThat(pool(h, "one").serverParses()).isEqualTo(serverParses);
            }
        }
    }

    @Test
    void errorsMatchADirectConnectionAndKeepTheSession() throws Exception {
        try (PgWire w = new PgWire(sluice.port(), "md5user", "md5pass", "tx")) {
            w.send(b -> PgWriter.query(b, "BEGIN"));
            w.typesUntilReady(null);
            w.send(b -> PgWire.parseSync(b, "dup", "SELECT 1"));
            assertThat(w.typesUntilReady(null)).isEqualTo("1Z");
            w.send(b -> PgWire.parseSync(b, "dup", "SELECT 2"));
            List<PgWire.Msg> msgs = new ArrayList<>();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("EZ");
            assertThat(PgWire.field(msgs.get(0), 'C')).isEqualTo("42P05");
            assertThat(PgWire.errorMessage(msgs.get(0))).isEqualTo("prepared statement \"dup\" already exists");
            assertThat(msgs.get(1).body()[0]).as("inside the failed transaction").isEqualTo((byte) 'E');
            w.send(b -> PgWriter.query(b, "ROLLBACK"));
            w.typesUntilReady(null);
            w.send(b -> PgWire.bindExecuteSync(b, "nope"));
            msgs.clear();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("EZ");
            assertThat(PgWire.field(msgs.get(0), 'C')).isEqualTo("26000");
            assertThat(PgWire.errorMessage(msgs.get(0))).isEqualTo("prepared statement \"nope\" does not exist");
            // The original statement still works.
            w.send(b -> PgWire.bindExecuteSync(b, "dup"));
            msgs.clear();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("2DCZ");
            assertThat(msgs.get(1).firstColumn()).isEqualTo("1");
            // Close is answered, and the name is free again.
            w.send(b -> {
                PgWire.closeStatement(b, "dup");
                PgWire.parse(b, "dup", "SELECT 3");
                PgWire.bind(b, "dup");
                PgWire.execute(b);
                PgWire.sync(b);
            });
            msgs.clear();
            assertThat(w.typesUntilReady(msgs)).isEqualTo("312DCZ");
            assertThat(msgs.get(3).firstColumn()).isEqualTo("3");
        }
    }

    @Test
    void schemaChangeIsRecoveredWithoutReconnect() throws Exception {
        try (SluiceHarness h = singleLoop("");
                PgWire w = new PgWire(h.port(), "md5user", "md5pass", "one")) {
            w.send(b -> {
                PgWire.parse(b, "S1", "SELECT * FROM shape");
                PgWire.bind(b, "S1");
                PgWire.execute(b);
                PgWire.sync(b);
            });
            assertThat(w.typesUntilReady(null)).isEqualTo("12DCZ");
            try (Connection d = TestPostgres.direct(); Statement st = d.createStatement()) {
                st.execute("ALTER TABLE shape ADD COLUMN b int DEFAULT 7");
            }
            List<PgWire.Msg> msgs = new ArrayList<>();
            w.send(b -> PgWire.bindExecuteSync(b, "S1"));
            assertThat(w.typesUntilReady(msgs)).isEqualTo("EZ");
            assertThat(PgWire.errorMessage(msgs.get(0))).isEqualTo("cached plan must not change result type");
            msgs.clear();
            w.send(b -> {
                PgWire.bind(b, "S1");
                PgWire.describeStatement(b, "S1");
                PgWire.execute(b);
                PgWire.sync(b);
            });
            assertThat(w.typesUntilReady(msgs)).as("runs again, re-prepared").isEqualTo("2tTDCZ");
            assertThat(new String(msgs.get(2).body(), java.nio.charset.StandardCharsets.UTF_8)).contains("b");
        } finally {
            try (Connection d = TestPostgres.direct(); Statement st = d.createStatement()) {
                st.execute("ALTER TABLE shape DROP COLUMN IF EXISTS b");
            }
        }
    }

    @Test
    void deallocateAllDropsTheClientsStatements() throws Exception {
        try (PgWire w = new PgWire(sluice.port(), "md5user", "md5pass", "tx")) {
            w.send(b -> {
                PgWire.parse(b, "S1", "SELECT 'kept?'");
                PgWire.bind(b, "S1");
                PgWire.execute(b);
                PgWire.sync(b);
            });
            assertThat(w.typesUntilReady(null)).isEqualTo("12DCZ");
            w.send(b -> PgWriter.query(b, "DEALLOCATE ALL"));
            assertThat(w.typesUntilReady(null)).isEqualTo("CZ");
            List<PgWire.Msg> msgs = new ArrayList<>();
            w.send(b -> PgWire.bindExecuteSync(b, "S1"));
            assertThat(w.typesUntilReady(msgs)).isEqualTo("EZ");
            assertThat(PgWire.errorMessage(msgs.get(0))).isEqualTo("prepared statement \"S1\" does not exist");
            // Prepared again, it works (on whichever server, which lost its copy too).
            msgs.clear();
            w.send(b -> {
                PgWire.parse(b, "S1", "SELECT 'again'");
                PgWire.bind(b, "S1");
                PgWire.execute(b);
                PgWire.sync(b);
            });
            assertThat(w.typesUntilReady(msgs)).isEqualTo("12DCZ");
            assertThat(msgs.get(2).firstColumn()).isEqualTo("again");
        }
    }
}
