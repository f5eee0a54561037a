package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.testing.LeakCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The client limits and server upkeep settings of issue 22 as a client sees them:
 * max_db_client_connections, max_user_client_connections, query_wait_notify,
 * server_check_query with server_check_delay, server_fast_close and the tcp_keepalive family.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PoolLimitsIT {
    private static final String TX = "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1"
            + " pool_mode=transaction";

    @Test
    void maxDbClientConnectionsRefusesTheThirdClientOfADatabaseOnly() throws Exception {
        String dbs = TX + " max_db_client_connections=2\nother = host=127.0.0.1 port=${PG_PORT} dbname=postgres";
        try (SluiceHarness h = SluiceHarness.start(dbs, "auth_type = md5", SluiceHarness.USERLIST);
                Connection one = h.connect("tx", "md5user", "md5pass");
                Connection two = h.connect("tx", "scramuser", "scrampass")) {
            SQLException e = assertThrows(SQLException.class, () -> h.connect("tx", "md5user", "md5pass").close());
            assertThat(e.getMessage()).contains("client connections exceeded (max_db_client_connections)");
            assertThat(e.getSQLState()).isEqualTo("08P01");
            try (Connection elsewhere = h.connect("other", "md5user", "md5pass")) {
                assertThat(scalar(elsewhere, "select 'other db'")).isEqualTo("other db");
            }
            one.close();
            try (Connection again = connectSoon(h, "tx", "md5user", "md5pass")) {
                assertThat(scalar(again, "select 'room again'")).isEqualTo("room again");
            }
            assertThat(scalar(two, "select 'still here'")).isEqualTo("still here");
        }
    }

    @Test
    void maxUserClientConnectionsCountsTheLoginUser() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(TX, "auth_type = md5\nmax_user_client_connections = 1",
                SluiceHarness.USERLIST);
                Connection one = h.connect("tx", "md5user", "md5pass");
                Connection otherUser = h.connect("tx", "scramuser", "scrampass")) {
            SQLException e = assertThrows(SQLException.class, () -> h.connect("tx", "md5user", "md5pass").close());
            assertThat(e.getMessage()).contains("client connections exceeded (max_user_client_connections)");
            // A wrong password is still a wrong password: the limit is applied after authentication.
            SQLException wrong = assertThrows(SQLException.class, () -> h.connect("tx", "md5user", "nope").close());
            assertThat(wrong.getMessage()).contains("password authentication failed");
            assertThat(scalar(one, "select 1")).isEqualTo("1");
            assertThat(scalar(otherUser, "select 2")).isEqualTo("2");
        }
    }

    /** A connection attempt repeated for a moment: the limit is freed when Sluice has seen the close. */
    private static Connection connectSoon(SluiceHarness h, String db, String user, String password) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            try {
                return h.connect(db, user, password);
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    @Test
    void aWaitingClientIsToldItIsQueued() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(TX, "auth_type = md5\nquery_wait_notify = 1",
                SluiceHarness.USERLIST);
                Connection holder = h.connect("tx", "md5user", "md5pass");
                Connection waiter = h.connect("tx", "md5user", "md5pass");
                Connection quick = h.connect("tx", "md5user", "md5pass")) {
            holder.setAutoCommit(false);
            assertThat(scalar(holder, "select 1")).isEqualTo("1");
            CompletableFuture<List<String>> waited = CompletableFuture.supplyAsync(() -> {
                try (Statement st = waiter.createStatement(); ResultSet rs = st.executeQuery("select 'waited'")) {
                    rs.next();
                    List<String> seen = new ArrayList<>();
                    seen.add(rs.getString(1));
                    for (SQLWarning w = st.getWarnings(); w != null; w = w.getNextWarning()) {
                        seen.add(w.getMessage());
                    }
                    return seen;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(2_500);
            holder.commit();
            assertThat(waited.get(10, TimeUnit.SECONDS)).containsExactly("waited",
                    "No server connection available in postgres backend, client being queued");
            // A client that did not wait that long is told nothing.
            try (Statement st = quick.createStatement(); ResultSet rs = st.executeQuery("select 1")) {
                rs.next();
                assertThat((Object) st.getWarnings()).isNull();
            }
        }
    }

    @Test
    void serverCheckQueryRunsOnlyOnServersIdlePastTheDelay() throws Exception {
        // A check that always fails: a server idle past server_check_delay is replaced, unseen.
        try (SluiceHarness h = SluiceHarness.start(TX, "auth_type = md5\nserver_check_delay = 1\n"
                + "server_check_query = select 1/0", SluiceHarness.USERLIST);
                Connection c = h.connect("tx", "md5user", "md5pass")) {
            String first = scalar(c, "select pg_backend_pid()");
            assertThat(scalar(c, "select pg_backend_pid()")).as("used again at once: not checked").isEqualTo(first);
            Thread.sleep(1_600);
            assertThat(scalar(c, "select pg_backend_pid()")).as("checked, failed, replaced").isNotEqualTo(first);
        }
        try (SluiceHarness h = SluiceHarness.start(TX, "auth_type = md5\nserver_check_delay = 1\n"
                + "server_check_query = select 1", SluiceHarness.USERLIST);
                Connection c = h.connect("tx", "md5user", "md5pass")) {
            String first = scalar(c, "select pg_backend_pid()");
            Thread.sleep(1_600);
            assertThat(scalar(c, "select pg_backend_pid()")).as("checked, kept").isEqualTo(first);
        }
    }

    @Test
    void serverFastCloseEndsASessionModeServerAfterReconnect() throws Exception {
        String dbs = "sess = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_mode=session";
        for (boolean fast : new boolean[] {true, false}) {
            try (SluiceHarness h = SluiceHarness.start(dbs, "auth_type = md5\nadmin_users = md5user\n"
                    + "server_fast_close = " + (fast ? 1 : 0), SluiceHarness.USERLIST);
                    Connection c = h.connect("sess", "md5user", "md5pass");
                    Connection admin = console(h)) {
                assertThat(scalar(c, "select 1")).isEqualTo("1");
                try (Statement st = admin.createStatement()) {
                    st.execute("RECONNECT sess");
                }
                Thread.sleep(2_500);
                if (fast) {
                    SQLException e = assertThrows(SQLException.class, () -> scalar(c, "select 2"));
                    assertThat(e.getMessage()).contains("database configuration changed");
                } else {
                    assertThat(scalar(c, "select 2")).as("the session keeps its server to its end").isEqualTo("2");
                }
            }
        }
    }

    private static Connection console(SluiceHarness h) throws SQLException {
        Properties p = new Properties();
        p.setProperty("preferQueryMode", "simple");
        return h.connect("pgbouncer", "md5user", "md5pass", p);
    }

    @Test
    void tcpKeepaliveSettingsReachBothSockets() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(TX, "auth_type = md5\ntcp_keepalive = 1\ntcp_keepidle = 7\n"
                + "tcp_keepintvl = 3\ntcp_keepcnt = 2", SluiceHarness.USERLIST);
                Connection c = h.connect("tx", "md5user", "md5pass")) {
            assertThat(scalar(c, "select 1")).isEqualTo("1");
            // /proc/net/tcp and tcp6: a keepalive timer (timer_active 2) due within tcp_keepidle, in
            // USER_HZ ticks, on Sluice's socket to the client (local port = Sluice's) and on
            // its socket to PostgreSQL (remote port = PostgreSQL's).
            assertThat(keepaliveTicks(h.port(), true)).isBetween(1L, 700L);
            assertThat(keepaliveTicks(TestPostgres.port(), false)).isBetween(1L, 700L);
        }
    }

    /** The keepalive timer of the established socket with {@code port} local or remote, -1 if none. */
    private static long keepaliveTicks(int port, boolean local) throws Exception {
        // Until the last bytes are acknowledged the socket shows its retransmit timer instead.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        long ticks;
        while ((ticks = keepaliveTimer(port, local)) < 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        return ticks;
    }

    private static long keepaliveTimer(int port, boolean local) throws Exception {
        // Java's sockets are dual-stack: IPv4 peers show in tcp6 as ::ffff:127.0.0.1.
        List<String> lines = new ArrayList<>(Files.readAllLines(Path.of("/proc/net/tcp")));
        lines.addAll(Files.readAllLines(Path.of("/proc/net/tcp6")));
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 6 || !f[3].equals("01")) {
                continue;  // the header, or not ESTABLISHED
            }
            int lport = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
            int rport = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
            if ((local ? lport : rport) != port) {
                continue;
            }
            String[] timer = f[5].split(":");
            if (timer[0].equals("02")) {
                return Long.parseLong(timer[1], 16);
            }
        }
        return -1;
    }
}
