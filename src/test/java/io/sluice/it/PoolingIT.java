package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Session pooling through Sluice against a real PostgreSQL, driven by pgjdbc and psql. */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PoolingIT {
    private static final String DATABASES = String.join("\n",
            "postgres = host=127.0.0.1 port=${PG_PORT}",
            "five = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=5 application_name=sluice_five",
            "one = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1",
            "kill = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1 application_name=sluice_kill",
            "warm = host=127.0.0.1 port=${PG_PORT} dbname=postgres user=postgres min_pool_size=2"
                    + " application_name=sluice_warm",
            "reserve = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1 reserve_pool_size=1",
            "capped = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=5 max_db_connections=1",
            "socketdb = host=${PG_SOCKET} port=${PG_PORT} dbname=postgres",
            "down = host=127.0.0.1 port=${DOWN_PORT} dbname=postgres");
    private static SluiceHarness sluice;

    @BeforeAll
    static void start() {
        int downPort;
        try {
            downPort = SluiceHarness.freePort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        sluice = SluiceHarness.start(DATABASES.replace("${PG_SOCKET}", TestPostgres.socketDir().toString())
                        .replace("${DOWN_PORT}", String.valueOf(downPort)),
                String.join("\n",
                        "auth_type = md5",
                        "ignore_startup_parameters = extra_float_digits",
                        "reserve_pool_timeout = 0.5",
                        "max_client_conn = 200"),
                SluiceHarness.USERLIST);
    }

    @AfterAll
    static void stop() {
        sluice.close();
    }

    private static Connection connect(String db) throws SQLException {
        return sluice.connect(db, "md5user", "md5pass");
    }

    private static int backendPid(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static int countBackends(String applicationName) throws SQLException {
        try (Connection c = TestPostgres.direct()) {
            return Integer.parseInt(scalar(c,
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + applicationName + "'"));
        }
    }

    @Test
    void fiftyClientsOverAPoolOfFiveAllComplete() throws Exception {
        Set<Integer> pids = ConcurrentHashMap.newKeySet();
        AtomicInteger done = new AtomicInteger();
        AtomicInteger maxOpen = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (running.get()) {
                try {
                    // Sluice's own count: PostgreSQL's view lags while a closed backend exits.
                    maxOpen.accumulateAndGet(sluice.sluice().pools().pool("five", "md5user").orElseThrow()
                            .serverCount(), Math::max);
                    Thread.sleep(5);
                } catch (Exception e) {
                    return;
                }
            }
        });
        sampler.start();
        try {
            SluiceHarness.concurrently(50, 90, client -> {
                try (Connection c = connect("five");
                        PreparedStatement ps = c.prepareStatement("SELECT pg_backend_pid(), ?::int * 2")) {
                    for (int q = 0; q < 5; q++) {
                        ps.setInt(1, client * 100 + q);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            pids.add(rs.getInt(1));
                            assertThat(rs.getInt(2)).isEqualTo((client * 100 + q) * 2);
                        }
                    }
                    done.incrementAndGet();
                }
            });
        } finally {
            running.set(false);
            sampler.join();
        }
        assertThat(done.get()).isEqualTo(50);
        assertThat(pids).as("server connections used").isNotEmpty();
        assertThat(maxOpen.get()).as("most server connections open at once").isBetween(1, 5);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (countBackends("sluice_five") > 5 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        String activity;
        try (Connection d = TestPostgres.direct()) {
            activity = scalar(d, "SELECT string_agg(usename || ' ' || state || ' ' || backend_start, '; ')"
                    + " FROM pg_stat_activity WHERE application_name = 'sluice_five'");
        }
        assertThat(countBackends("sluice_five")).as("server connections open in PostgreSQL: " + activity)
                .isLessThanOrEqualTo(5);
    }

    /** With one event loop every client shares the same server, so the reset is what cleans it. */
    @Test
    void sessionStateDoesNotLeakToTheNextSession() throws Exception {
        try (SluiceHarness single = singleLoop()) {
            sessionStateDoesNotLeak(single);
        }
    }

    private static SluiceHarness singleLoop() {
        return SluiceHarness.start(DATABASES.replace("${PG_SOCKET}", "/tmp").replace("${DOWN_PORT}", "1"),
                "auth_type = md5\nignore_startup_parameters = extra_float_digits", SluiceHarness.USERLIST, 1);
    }

    @Test
    void clientGoneInsideATransactionLeavesNoTransactionBehind() throws Exception {
        try (SluiceHarness h = singleLoop()) {
            int pid;
            try (Connection c = h.connect("one", "md5user", "md5pass")) {
                pid = backendPid(c);
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("CREATE TEMP TABLE t_in_tx (x int)");
                    st.execute("SELECT txid_current()");
                }
                // closed with the transaction open
            }
            try (Connection c = h.connect("one", "md5user", "md5pass")) {
                assertThat(backendPid(c)).isEqualTo(pid);
                assertThat(scalar(c, "SELECT txid_current_if_assigned()")).isNull();
                assertThat(scalar(c, "SELECT count(*) FROM pg_class WHERE relname = 't_in_tx'")).isEqualTo("0");
            }
        }
    }

    @Test
    void clientGoneWhileAQueryRunsGetsItsServerClosedNotReused() throws Exception {
        try (SluiceHarness h = singleLoop()) {
            int pid;
            Connection c = h.connect("one", "md5user", "md5pass");
            pid = backendPid(c);
            ExecutorService ex = Executors.newSingleThreadExecutor();
            try {
                Future<?> running = ex.submit(() -> {
                    try (Statement st = c.createStatement()) {
                        st.execute("SELECT pg_sleep(30)");
                    }
                    return null;
                });
                Thread.sleep(500);
                c.abort(Runnable::run);
                try (Connection next = h.connect("one", "md5user", "md5pass")) {
                    assertThat(backendPid(next)).as("a fresh server, not the busy one").isNotEqualTo(pid);
                    assertThat(scalar(next, "SELECT 'clean'")).isEqualTo("clean");
                }
                running.cancel(true);
            } finally {
                ex.shutdownNow();
            }
            try (Connection d = TestPostgres.direct()) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!"0".equals(scalar(d, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid))
                        && System.nanoTime() < deadline) {
                    Thread.sleep(100);
                }
                assertThat(scalar(d, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid))
                        .as("the busy server was closed").isEqualTo("0");
            }
        }
    }

    @Test
    void maxUserConnectionsIsSharedByTheUsersPools() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(
                DATABASES.replace("${PG_SOCKET}", "/tmp").replace("${DOWN_PORT}", "1")
                        + "\n\n[users]\nplainuser = max_user_connections=1",
                "auth_type = md5\nignore_startup_parameters = extra_float_digits", SluiceHarness.USERLIST)) {
            Connection first = h.connect("postgres", "plainuser", "plainpass");
            backendPid(first);
            ExecutorService ex = Executors.newSingleThreadExecutor();
            try {
                Future<Integer> second = ex.submit(() -> {
                    try (Connection c = h.connect("five", "plainuser", "plainpass")) {
                        return backendPid(c);
                    }
                });
                Thread.sleep(1000);
                assertThat(second.isDone()).as("waits: the user's one connection is taken").isFalse();
                first.close();
                assertThat(second.get(20, TimeUnit.SECONDS)).isPositive();
            } finally {
                ex.shutdownNow();
            }
        }
    }

    private static void sessionStateDoesNotLeak(SluiceHarness h) throws Exception {
        int pid;
        try (Connection c = h.connect("one", "md5user", "md5pass")) {
            pid = backendPid(c);
            try (Statement st = c.createStatement()) {
                st.execute("SET work_mem = '77MB'");
                st.execute("PREPARE leftover AS SELECT 1");
            }
            assertThat(scalar(c, "SHOW work_mem")).isEqualTo("77MB");
        }
        try (Connection c = h.connect("one", "md5user", "md5pass")) {
            assertThat(backendPid(c)).as("same server connection, reused").isEqualTo(pid);
            assertThat(scalar(c, "SHOW work_mem")).isEqualTo("4MB");
            assertThat(scalar(c, "SELECT count(*) FROM pg_prepared_statements")).isEqualTo("0");
        }
    }

    @Test
    void clientsEachSeeTheirOwnApplicationName() throws Exception {
        for (String name : List.of("first_app", "second_app", "first_app")) {
            Properties p = new Properties();
            p.setProperty("ApplicationName", name);
            try (Connection c = sluice.connect("one", "md5user", "md5pass", p)) {
                assertThat(scalar(c, "SELECT current_setting('application_name')")).isEqualTo(name);
            }
        }
    }

    @Test
    void unknownDatabaseIsReportedOnlyAfterAuthentication() throws Exception {
        assertThatThrownBy(() -> connect("nosuchdb").close())
                .isInstanceOf(SQLException.class).hasMessageContaining("no such database: nosuchdb");
        assertThatThrownBy(() -> sluice.connect("nosuchdb", "md5user", "wrong").close())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed");
    }

    @Test
    void cancelStopsARunningQuery() throws Exception {
        try (Connection c = connect("postgres"); Statement st = c.createStatement()) {
            ExecutorService ex = Executors.newSingleThreadExecutor();
            try {
                Future<?> f = ex.submit(() -> {
                    Thread.sleep(700);
                    st.cancel();
                    return null;
                });
                long start = System.nanoTime();
                assertThatThrownBy(() -> st.execute("SELECT pg_sleep(30)"))
                        .isInstanceOf(SQLException.class)
                        .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("57014");
                assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(10);
                f.get();
            } finally {
                ex.shutdownNow();
            }
            assertThat(scalar(c, "SELECT 'still usable'")).isEqualTo("still usable");
        }
    }

    @Test
    void cancelDoesNotTouchOtherClients() throws Exception {
        try (Connection a = connect("postgres"); Connection b = connect("postgres");
                Statement sa = a.createStatement(); Statement sb = b.createStatement()) {
            ExecutorService ex = Executors.newSingleThreadExecutor();
            try {
                Future<Boolean> bRun = ex.submit(() -> sb.execute("SELECT pg_sleep(2)"));
                Thread.sleep(300);
                sa.cancel();
                assertThat(bRun.get(20, TimeUnit.SECONDS)).isTrue();
            } finally {
                ex.shutdownNow();
            }
        }
    }

    @Test
    void killedServerConnectionDoesNotPoisonThePool() throws Exception {
        int pid;
        try (Connection c = connect("kill")) {
            pid = backendPid(c);
        }
        try (Connection d = TestPostgres.direct()) {
            assertThat(scalar(d, "SELECT pg_terminate_backend(" + pid + ")")).isEqualTo("t");
        }
        Thread.sleep(200);
        try (Connection c = connect("kill")) {
            int newPid = backendPid(c);
            assertThat(newPid).isNotEqualTo(pid);
            // Killed while a client holds it: that client sees the error, the next one is fine.
            try (Connection d = TestPostgres.direct()) {
                scalar(d, "SELECT pg_terminate_backend(" + newPid + ")");
            }
            assertThatThrownBy(() -> backendPid(c)).isInstanceOf(SQLException.class);
        }
        try (Connection c = connect("kill")) {
            assertThat(scalar(c, "SELECT 'alive'")).isEqualTo("alive");
        }
    }

    @Test
    void minPoolSizeIsKeptOpen() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (countBackends("sluice_warm") < 2 && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(countBackends("sluice_warm")).isEqualTo(2);
    }

    @Test
    void reservePoolServesAClientThatWaitedPastTheTimeout() throws Exception {
        try (Connection holder = connect("reserve")) {
            backendPid(holder);
            long start = System.nanoTime();
            try (Connection second = connect("reserve")) {
                assertThat(backendPid(second)).isNotEqualTo(backendPid(holder));
                long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertThat(waitedMs).as("waited for reserve_pool_timeout").isGreaterThanOrEqualTo(400);
            }
        }
    }

    @Test
    void maxDbConnectionsMakesClientsWaitInTurn() throws Exception {
        Connection first = connect("capped");
        backendPid(first);
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> second = ex.submit(() -> {
                try (Connection c = connect("capped")) {
                    return backendPid(c);
                }
            });
            Thread.sleep(1000);
            assertThat(second.isDone()).as("second client waits while the only server is taken").isFalse();
            first.close();
            // It gets the freed slot: the same server, or a new one on its own event loop.
            assertThat(second.get(20, TimeUnit.SECONDS)).isPositive();
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void serverThatIsDownGivesAClearErrorNotAHang() throws Exception {
        long start = System.nanoTime();
        // PgBouncer's words; the address and the errno are in Sluice's log, not told to clients.
        assertThatThrownBy(() -> connect("down").close())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("connect failed");
        assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(10);
    }

    @Test
    void serverOverUnixSocket() throws Exception {
        try (Connection c = connect("socketdb")) {
            assertThat(scalar(c, "SELECT inet_server_addr() IS NULL")).as("connected over a Unix socket")
                    .isEqualTo("t");
        }
    }

    @Test
    void psqlOverTcpAndTheUnixSocketListener() throws Exception {
        var viaTcp = SluiceHarness.psql("-X", "-At", "-c", "SELECT 40 + 2",
                "postgresql://md5user:md5pass@127.0.0.1:" + sluice.port() + "/postgres");
        assertThat(viaTcp.output()).isEqualTo("42");
        assertThat(viaTcp.exitCode()).isZero();
        var viaSocket = SluiceHarness.psql("-X", "-At", "-c", "SELECT 'unix ' || current_user",
                "postgresql://md5user:md5pass@/postgres?host=" + sluice.socketDir() + "&port=" + sluice.port());
        assertThat(viaSocket.output()).isEqualTo("unix md5user");
        assertThat(viaSocket.exitCode()).isZero();
    }
}
