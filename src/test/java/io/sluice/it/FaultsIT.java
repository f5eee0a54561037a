package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.protocol.PgWriter;
import io.sluice.testing.LeakCheck;
import io.sluice.testing.LogCapture;
import io.sluice.testing.TcpProxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.BooleanSupplier;
import org.postgresql.util.PSQLException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Real faults between Sluice and PostgreSQL, as the clients see them: PostgreSQL restarted under
 * load, backends terminated, PostgreSQL unreachable (refusing, or silent), the network frozen
 * mid-query, a client gone mid-query. Each ends in a clear error for the clients it touched, none
 * waits without bound, and Sluice serves again by itself once PostgreSQL is back.
 *
 * <p>PostgreSQL is this class's own ({@link RestartablePostgres}), since one test stops it;
 * {@link TcpProxy} stands for the network where a test needs one. A client that stops reading a
 * huge result is ResourceLimitsIT's (six slow readers of 1 GB), not repeated here.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FaultsIT {
    private static RestartablePostgres pg;
    private LogCapture logs;

    @BeforeAll
    static void startPostgres() {
        pg = RestartablePostgres.start();
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    @BeforeEach
    void captureLogs() {
        logs = LogCapture.capture();
    }

    @AfterEach
    void noExceptionEscaped() {
        try {
            assertThat(logs.escapedExceptions()).as("exceptions that escaped Sluice's handlers").isEmpty();
        } finally {
            logs.close();
        }
    }

    private static SluiceHarness sluice(int port, int poolSize, String settings) {
        return sluice(port, poolSize, settings, 2);
    }

    private static SluiceHarness sluice(int port, int poolSize, String settings, int loops) {
        return SluiceHarness.start("db = host=127.0.0.1 port=" + port + " dbname=postgres pool_size=" + poolSize,
                "auth_type = trust\npool_mode = transaction\n" + settings, SluiceHarness.USERLIST, loops);
    }

    /** A pgjdbc client whose every call ends within {@code socketTimeout} seconds, hung or not. */
    private static Connection client(SluiceHarness h, int socketTimeout) throws SQLException {
        Properties p = new Properties();
        p.setProperty("connectTimeout", "5");
        p.setProperty("socketTimeout", String.valueOf(socketTimeout));
        return h.connect("db", "postgres", "", p);
    }

    private static long millisSince(long t0) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    private static void await(String what, long timeoutMillis, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeoutMillis + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }

    /** The first column of the first row of {@code sql}, run directly on PostgreSQL. */
    private static String direct(String sql) {
        try (Connection d = pg.direct()) {
            return scalar(d, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean backendGone(int pid) {
        return "0".equals(direct("select count(*) from pg_stat_activity where pid = " + pid));
    }

    /** The pid of the one backend running a query that starts with {@code prefix}, or 0. */
    private static int runningQuery(String prefix) {
        String pid = direct("select max(pid) from pg_stat_activity where state = 'active' and query like '"
                + prefix.replace("'", "''") + "%'");
        return pid == null ? 0 : Integer.parseInt(pid);
    }

    /** The message of the error as the server (here Sluice) sent it: without pgjdbc's "FATAL: ". */
    private static String serverMessage(SQLException e) {
        return e instanceof PSQLException p && p.getServerErrorMessage() != null
                ? p.getServerErrorMessage().getMessage() : e.getMessage();
    }

    /** What one client call ended in: null sqlState for success. */
    private record Outcome(int client, long atNanos, long millis, String sqlState, String message) {
    }

    @Test
    void postgresRestartedUnderLoadFailsOnlyWhatWasInFlightAndThePoolsRefill() throws Exception {
        try (Connection d = pg.direct(); Statement st = d.createStatement()) {
            st.execute("create table if not exists faults_load (client int, at timestamptz default now())");
            st.execute("truncate faults_load");
        }
        int clients = 6;
        try (SluiceHarness h = sluice(pg.port(), 4, "server_login_retry = 1\nserver_connect_timeout = 2")) {
            ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
            AtomicLongArray lastSuccess = new AtomicLongArray(clients);
            long before = System.nanoTime() - 1;
            for (int i = 0; i < clients; i++) {
                lastSuccess.set(i, before);
            }
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<?>> running = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                int id = i;
                running.add(pool.submit(() -> {
                    Connection c = null;
                    while (!stop.get()) {
                        long t0 = System.nanoTime();
                        try {
                            if (c == null) {
                                c = client(h, 20);
                                c.setAutoCommit(false);
                            }
                            try (Statement s = c.createStatement()) {
                                s.execute("select pg_sleep(0.02)");
                                s.execute("insert into faults_load (client) values (" + id + ")");
                            }
                            c.commit();
                            outcomes.add(new Outcome(id, t0, millisSince(t0), null, null));
                            lastSuccess.set(id, System.nanoTime());
                        } catch (SQLException e) {
                            outcomes.add(new Outcome(id, t0, millisSince(t0), e.getSQLState(), e.getMessage()));
                            closeQuietly(c);
                            c = null;
                            Thread.sleep(50);
                        }
                    }
                    closeQuietly(c);
                    return null;
                }));
            }
            try {
                long started = System.nanoTime();
                await("every client commits under load", 10_000, () -> allAfter(lastSuccess, started));

                long down = System.nanoTime();
                pg.stop();
                // Down long enough that Sluice tries it while it is gone (it retries each second
                // after "the database system is shutting down"), not only while it stops.
                Thread.sleep(2_000);
                pg.startAgain();
                long up = System.nanoTime();
                await("every client commits again once PostgreSQL is back", 10_000, () -> allAfter(lastSuccess, up));
                long refilled = millisSince(up);
                stop.set(true);
                for (Future<?> f : running) {
                    f.get(15, TimeUnit.SECONDS);
                }

                Map<String, Integer> errors = new TreeMap<>();
                long slowest = 0;
                for (Outcome o : outcomes) {
                    slowest = Math.max(slowest, o.millis());
                    if (o.sqlState() != null) {
                        errors.merge(o.sqlState() + " " + o.message(), 1, Integer::sum);
                    }
                }
                System.out.printf("restart under load: %d calls, slowest %d ms, all clients served %d ms after"
                        + " PostgreSQL was up; errors %s%n", outcomes.size(), slowest, refilled, errors);
                assertThat(outcomes).filteredOn(o -> o.sqlState() != null)
                        .as("every failure is connection-class (08, 57P0x), none before PostgreSQL stopped")
                        .isNotEmpty()
                        .allSatisfy(o -> {
                            assertThat(o.sqlState()).as(o.message()).matches("08...|57P0[123]");
                            assertThat(o.atNanos() + TimeUnit.MILLISECONDS.toNanos(o.millis()))
                                    .as("failed at or after the stop: " + o.message()).isGreaterThan(down);
                        });
                assertThat(errors.keySet()).as("transactions in flight get PostgreSQL's own shutdown error")
                        .anyMatch(e -> e.startsWith("57P01 "));
                // Clients told "the database system is shutting down" are held (as in PgBouncer) and
                // served once it is back: a call may take as long as the restart, not longer.
                assertThat(slowest).as("no call hangs (each is bounded by a 20 s socket timeout)").isLessThan(10_000);
                assertThat(refilled).as("servers opened again within a few server_login_retry").isLessThan(5_000);
            } finally {
                stop.set(true);
                pool.shutdownNow();
            }
            // Through the same Sluice: every commit a client was told of is there; a commit cut off
            // by the shutdown may be there too (its outcome unknown to the client), nothing else.
            long committed = outcomes.stream().filter(o -> o.sqlState() == null).count();
            long failed = outcomes.size() - committed;
            try (Connection fresh = client(h, 10)) {
                assertThat(Long.parseLong(scalar(fresh, "select count(*) from faults_load")))
                        .isBetween(committed, committed + failed);
            }
        }
    }

    private static boolean allAfter(AtomicLongArray times, long t) {
        for (int i = 0; i < times.length(); i++) {
            if (times.get(i) - t <= 0) {
                return false;
            }
        }
        return true;
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // Already broken: that is what it is being closed for.
            }
        }
    }

    @Test
    void anIdleServerTerminatedInThePoolIsNotSeenByTheNextQuery() throws Exception {
        try (SluiceHarness h = sluice(pg.port(), 1, "");
                Connection c = client(h, 10)) {
            int pid = Integer.parseInt(scalar(c, "select pg_backend_pid()"));
            for (int i = 0; i < 3; i++) {
                int terminated = pid;
                assertThat(direct("select pg_terminate_backend(" + terminated + ")")).isEqualTo("t");
                await("backend " + terminated + " gone", 5_000, () -> backendGone(terminated));

                pid = Integer.parseInt(scalar(c, "select pg_backend_pid()"));
                assertThat(pid).as("the next query ran on a fresh server").isNotEqualTo(terminated);
            }
        }
    }

    @Test
    void aBusyServerTerminatedFailsOnlyItsOwnClient() throws Exception {
        ExecutorService ex = Executors.newFixedThreadPool(2);
        try (SluiceHarness h = sluice(pg.port(), 2, "");
                Connection victim = client(h, 15);
                Connection bystander = client(h, 15)) {
            Future<String> slow = ex.submit(() -> scalar(victim, "select pg_sleep(10)"));
            Future<String> other = ex.submit(() -> scalar(bystander, "select 'bystander' from pg_sleep(1.5)"));
            await("both queries running", 5_000, () -> runningQuery("select pg_sleep(10)") != 0
                    && runningQuery("select 'bystander'") != 0);

            long t0 = System.nanoTime();
            assertThat(direct("select pg_terminate_backend(" + runningQuery("select pg_sleep(10)") + ")")).isEqualTo("t");
            SQLException e = (SQLException) assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> slow.get(10, TimeUnit.SECONDS)).getCause();
            long failedAfter = millisSince(t0);

            assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("57P01");
            assertThat(e.getMessage()).contains("terminating connection due to administrator command");
            assertThat(failedAfter).as("told at once, not after the sleep").isLessThan(2_000);
            assertThat(other.get(10, TimeUnit.SECONDS)).isEqualTo("bystander");
            assertThat(scalar(bystander, "select 'still here'")).isEqualTo("still here");
            try (Connection next = client(h, 10)) {
                assertThat(scalar(next, "select 'next'")).isEqualTo("next");
            }
        } finally {
            ex.shutdownNow();
        }
    }

    /** What a new client sees of one query: its error message (null when it succeeded) and how long it took. */
    private record Attempt(String sqlState, String message, long millis) {
    }

    private static Attempt attempt(SluiceHarness h) {
        long t0 = System.nanoTime();
        try (Connection c = client(h, 15)) {
            scalar(c, "select 1");
            return new Attempt(null, null, millisSince(t0));
        } catch (SQLException e) {
            return new Attempt(e.getSQLState(), serverMessage(e), millisSince(t0));
        }
    }

    private static final String CACHED = "server login has been failing, cached error: connect failed (server_login_retry)";

    /**
     * After {@code resume}, new clients are served again by themselves within server_login_retry
     * (2 s here): until then they get the cached error at once. Returns how long it took.
     */
    private static long recoversAfter(SluiceHarness h, Runnable resume) throws InterruptedException {
        resume.run();
        long t0 = System.nanoTime();
        while (true) {
            Attempt a = attempt(h);
            if (a.message() == null) {
                return millisSince(t0);
            }
            assertThat(a.message()).as("while server_login_retry lasts").isEqualTo(CACHED);
            assertThat(a.millis()).isLessThan(1_000);
            assertThat(millisSince(t0)).as("served again within server_login_retry").isLessThan(4_000);
            Thread.sleep(200);
        }
    }

    @Test
    void postgresRefusingConnectionsFailsClientsAtOnceAndSluiceRecoversByItself() throws Exception {
        try (TcpProxy proxy = TcpProxy.start(pg.port());
                SluiceHarness h = sluice(proxy.port(), 2, "server_connect_timeout = 2\nserver_login_retry = 2")) {
            Attempt[] told = unreachable(proxy, h, TcpProxy::refuse);
            for (Attempt a : told) {
                // The first is told of the refused connect itself; one that comes a moment later
                // gets it as the cached error. Either at once.
                assertThat(a.message()).isIn("connect failed", CACHED);
                assertThat(a.sqlState()).isEqualTo("08P01");
                assertThat(a.millis()).isLessThan(1_500);
            }
            // Sorted by how long each took, not by when it came: a later one told the cached error
            // at once can sort first.
            assertThat(told).extracting(Attempt::message).contains("connect failed");
            assertThat(logs.messages()).anyMatch(m -> m.contains("could not connect to server 127.0.0.1:" + proxy.port()
                    + ": ") && m.contains("Connection refused"));
            long recovered = recoversAfter(h, proxy::resume);
            System.out.printf("refused: told in %d, %d, %d ms; served again %d ms after the proxy resumed%n",
                    told[0].millis(), told[1].millis(), told[2].millis(), recovered);
        }
    }

    @Test
    void postgresUnreachableWithConnectsHangingFailsWaitingClientsAfterServerConnectTimeout() throws Exception {
        // One event loop: every waiter waits on the logins of that one loop (clients waiting on
        // other loops: the next test).
        try (TcpProxy proxy = TcpProxy.start(pg.port());
                SluiceHarness h = sluice(proxy.port(), 2, "server_connect_timeout = 2\nserver_login_retry = 2", 1)) {
            Attempt[] told = unreachable(proxy, h, TcpProxy::stall);
            for (Attempt a : told) {
                assertThat(a.message()).isEqualTo("connect failed");
                assertThat(a.sqlState()).isEqualTo("08P01");
                assertThat(a.millis()).as("after server_connect_timeout").isBetween(1_900L, 3_500L);
            }
            assertThat(logs.messages()).anyMatch(m -> m.contains("could not connect to server 127.0.0.1:" + proxy.port()
                    + ": connection timed out"));
            long recovered = recoversAfter(h, proxy::resume);
            System.out.printf("silent: told in %d, %d, %d ms; served again %d ms after the proxy resumed%n",
                    told[0].millis(), told[1].millis(), told[2].millis(), recovered);
        }
    }

    @Test
    void aClientWaitingOnAnotherLoopIsToldWithinServerConnectTimeoutToo() throws Exception {
        // Three loops, pool_size 1, one client on each: the one slot is tried once; every client
        // waiting when it fails is told then, on whichever loop it waits.
        try (TcpProxy proxy = TcpProxy.start(pg.port());
                SluiceHarness h = sluice(proxy.port(), 1, "server_connect_timeout = 2\nserver_login_retry = 10", 3)) {
            Attempt[] told = unreachable(proxy, h, TcpProxy::stall);
            System.out.printf("silent, three loops: told in %d, %d, %d ms%n",
                    told[0].millis(), told[1].millis(), told[2].millis());
            for (Attempt a : told) {
                assertThat(a.message()).isEqualTo("connect failed");
                assertThat(a.millis()).as("after one server_connect_timeout, not one per loop").isBetween(1_900L, 3_500L);
            }
            assertThat(logs.messages()).filteredOn(m -> m.contains("could not connect to server"))
                    .as("no connect tried again within server_login_retry").hasSize(1);
        }
    }

    /**
     * PostgreSQL becomes unreachable by {@code fault} after serving: the pool's server is reset,
     * three clients then arrive at once (pool_size 2 or less: one at least waits with no login of
     * its own). Returns what each was told; the next client is told the cached error at once.
     */
    private Attempt[] unreachable(TcpProxy proxy, SluiceHarness h, java.util.function.Consumer<TcpProxy> fault)
            throws Exception {
        assertThat(attempt(h).message()).isNull();
        // pgjdbc's SET extra_float_digits at connect is undone (session_state_policy) after the
        // client has gone: let that finish, so that the drop finds the pool at rest.
        Thread.sleep(500);
        assertThat(proxy.drop()).as("the pool's server reset").isEqualTo(1);
        fault.accept(proxy);
        // Time for Sluice to read the reset: a query in the same instant could still be given
        // that server, and would be told "server conn crashed?" instead.
        Thread.sleep(300);

        Attempt[] told = new Attempt[3];
        SluiceHarness.concurrently(told.length, 20, i -> told[i] = attempt(h));
        java.util.Arrays.sort(told, java.util.Comparator.comparingLong(Attempt::millis));
        Attempt later = attempt(h);
        assertThat(later.message()).isEqualTo(CACHED);
        assertThat(later.sqlState()).isEqualTo("08P01");
        assertThat(later.millis()).isLessThan(1_000);
        return told;
    }

    @Test
    void aNetworkFrozenMidQueryEndsInQueryTimeoutAndLaterClientsAreServed() throws Exception {
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try (TcpProxy proxy = TcpProxy.start(pg.port());
                SluiceHarness h = sluice(proxy.port(), 1, "query_timeout = 2\nserver_connect_timeout = 2");
                Connection c = client(h, 15)) {
            assertThat(scalar(c, "select 1")).isEqualTo("1");
            long t0 = System.nanoTime();
            // It would end after 1.5 s: only the frozen network keeps its answer away.
            Future<String> query = ex.submit(() -> scalar(c, "select 'answered' from pg_sleep(1.5)"));
            await("query running", 1_000, () -> runningQuery("select 'answered'") != 0);
            proxy.stall();

            SQLException e = (SQLException) assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> query.get(10, TimeUnit.SECONDS)).getCause();
            long ms = millisSince(t0);
            assertThat(serverMessage(e)).isEqualTo("query timeout");
            assertThat(e.getSQLState()).isEqualTo("08P01");
            assertThat(ms).as("after query_timeout (upkeep runs each second)").isBetween(1_900L, 4_500L);

            proxy.resume();
            long t1 = System.nanoTime();
            try (Connection later = client(h, 10)) {
                assertThat(scalar(later, "select 'served'")).isEqualTo("served");
            }
            assertThat(millisSince(t1)).isLessThan(2_000);
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void answersLostMidQueryEndInQueryTimeoutAndTheQueryIsCancelledOnPostgres() throws Exception {
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try (TcpProxy proxy = TcpProxy.start(pg.port());
                SluiceHarness h = sluice(proxy.port(), 1, "query_timeout = 2\nserver_connect_timeout = 2");
                Connection c = client(h, 15)) {
            assertThat(scalar(c, "select 1")).isEqualTo("1");
            long t0 = System.nanoTime();
            Future<String> query = ex.submit(() -> scalar(c, "select 'lost' from pg_sleep(10)"));
            await("query running", 1_000, () -> runningQuery("select 'lost'") != 0);
            int pid = runningQuery("select 'lost'");
            // Requests still reach PostgreSQL (the CancelRequest too); nothing comes back.
            proxy.stall(TcpProxy.Direction.DOWNSTREAM);

            SQLException e = (SQLException) assertThrows(java.util.concurrent.ExecutionException.class,
                    () -> query.get(10, TimeUnit.SECONDS)).getCause();
            assertThat(serverMessage(e)).isEqualTo("query timeout");
            assertThat(millisSince(t0)).isBetween(1_900L, 4_500L);
            await("the backend's query cancelled and its connection closed, well before its 10 s", 3_000,
                    () -> backendGone(pid));

            proxy.resume();
            try (Connection later = client(h, 10)) {
                assertThat(scalar(later, "select 'served'")).isEqualTo("served");
            }
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    void aClientGoneMidQueryLeavesNoDirtyServerForTheNext() throws Exception {
        try (SluiceHarness h = sluice(pg.port(), 1, "")) {
            int pid;
            long gone;
            try (PgWire w = new PgWire(h.port(), "postgres", "", "db")) {
                w.send(b -> PgWriter.query(b, "begin"));
                w.untilReady();
                w.send(b -> PgWriter.query(b, "set faults.marker = 'dirty'"));
                w.untilReady();
                w.send(b -> PgWriter.query(b, "select pg_backend_pid()"));
                pid = Integer.parseInt(w.untilReady().stream().filter(m -> m.type() == 'D').findFirst()
                        .orElseThrow().firstColumn());
                w.send(b -> PgWriter.query(b, "select 'vanished' from pg_sleep(5)"));
                await("its query running", 2_000, () -> runningQuery("select 'vanished'") == pid);
                // Gone as a crashed client goes: RST, no Terminate.
                w.socket.setSoLinger(true, 0);
                gone = System.nanoTime();
            }
            try (Connection next = client(h, 10); Statement st = next.createStatement();
                    ResultSet rs = st.executeQuery(
                            "select coalesce(current_setting('faults.marker', true), ''), pg_backend_pid(), 'mine'")) {
                rs.next();
                long waited = millisSince(gone);
                assertThat(rs.getString(3)).isEqualTo("mine");
                assertThat(rs.getString(1)).as("the vanished client's SET is not visible").isEmpty();
                assertThat(rs.getInt(2)).as("not the vanished client's server").isNotEqualTo(pid);
                assertThat(waited).as("served without waiting out the 5 s query").isLessThan(2_000);
            }
            await("the vanished client's backend ended", 3_000, () -> backendGone(pid));
            assertThat(millisSince(gone)).as("its query was cancelled, not run to the end").isLessThan(3_000);
            assertThat(logs.messages()).anyMatch(m -> m.contains("client disconnect while server was not ready"));
        }
    }
}
