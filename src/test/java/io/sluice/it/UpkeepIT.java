package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the once-a-second upkeep does, seen from outside: a client that waits for a server longer
 * than query_wait_timeout gets PgBouncer's error, and a server connection idle past
 * server_idle_timeout is closed on PostgreSQL. The event loops wait for I/O without a timeout
 * when nothing is scheduled on them, so these also show that the upkeep reaches every loop, and
 * (client_login_timeout) that a timer scheduled on a loop still fires.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UpkeepIT {

    @Test
    void aClientWaitingPastQueryWaitTimeoutGetsTheError() throws Exception {
        String databases = "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1 pool_mode=transaction";
        try (SluiceHarness h = SluiceHarness.start(databases, "auth_type = md5\nquery_wait_timeout = 1",
                SluiceHarness.USERLIST, 2);
                Connection holder = h.connect("tx", "md5user", "md5pass");
                Connection waiter = h.connect("tx", "md5user", "md5pass")) {
            holder.setAutoCommit(false);
            assertEquals("1", scalar(holder, "select 1"), "the holder's transaction takes the only server");
            long t0 = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> scalar(waiter, "select 2"));
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(e.getMessage().contains("query_wait_timeout"), e.getMessage());
            assertTrue(waitedMs >= 900 && waitedMs < 10_000, "waited " + waitedMs + " ms");
            assertEquals("3", scalar(holder, "select 3"), "the holder is not disturbed");
            holder.commit();
        }
    }

    @Test
    void anIdleServerPastServerIdleTimeoutIsClosed() throws Exception {
        String databases = "idle = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=4 pool_mode=transaction";
        try (SluiceHarness h = SluiceHarness.start(databases, "auth_type = md5\nserver_idle_timeout = 1",
                SluiceHarness.USERLIST, 2);
                Connection c = h.connect("idle", "md5user", "md5pass")) {
            assertEquals("5", scalar(c, "select 5"));
            assertTrue(serversOnPostgres() >= 1, "a server connection after the query");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (serversOnPostgres() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(0, serversOnPostgres(), "the idle server is closed");
            assertEquals("6", scalar(c, "select 6"), "the client gets a new server when it needs one");
        }
    }

    @Test
    void aClientThatNeverAnswersThePasswordRequestIsClosedAtClientLoginTimeout() throws Exception {
        String databases = "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_mode=transaction";
        try (SluiceHarness h = SluiceHarness.start(databases, "auth_type = md5\nclient_login_timeout = 1",
                SluiceHarness.USERLIST, 2);
                PgWire w = PgWire.connect(h.port())) {
            w.startup(196608, "user\0md5user\0database\0tx\0");
            PgWire.Msg request = w.read();
            assertEquals('R', request.type());
            assertEquals(5, request.code(), "the md5 password request");
            long t0 = System.nanoTime();
            PgWire.Msg error = w.read();
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals('E', error.type());
            assertTrue(PgWire.errorMessage(error).contains("client_login_timeout"), error.text());
            assertTrue(w.closedByPeer(), "the connection is closed");
            assertTrue(waitedMs >= 900 && waitedMs < 10_000, "waited " + waitedMs + " ms");
        }
    }

    @Test
    void idleTimeoutsNeverTakeThePoolBelowMinPoolSize() throws Exception {
        String databases = "minp = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=4 pool_mode=transaction";
        try (SluiceHarness h = SluiceHarness.start(databases,
                "auth_type = md5\nserver_idle_timeout = 1\nmin_pool_size = 2", SluiceHarness.USERLIST, 2)) {
            List<Connection> clients = new ArrayList<>();
            try {
                // Four transactions at once: four servers.
                for (int i = 0; i < 4; i++) {
                    Connection c = h.connect("minp", "md5user", "md5pass");
                    clients.add(c);
                    c.setAutoCommit(false);
                    assertEquals("1", scalar(c, "select 1"));
                }
                assertEquals(4, serversOnPostgres());
                for (Connection c : clients) {
                    c.commit();
                }
                // Idle past server_idle_timeout: two close, two stay, at every moment.
                int fewest = Integer.MAX_VALUE;
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (System.nanoTime() < end) {
                    fewest = Math.min(fewest, serversOnPostgres());
                    Thread.sleep(50);
                }
                assertEquals(2, serversOnPostgres(), "min_pool_size servers stay");
                assertEquals(2, fewest, "never fewer than min_pool_size on the way");
            } finally {
                for (Connection c : clients) {
                    c.close();
                }
            }
        }
    }

    @Test
    void minPoolSizeIsOpenedAgainOnceLoginsWork() throws Exception {
        try (Connection d = TestPostgres.direct(); Statement st = d.createStatement()) {
            st.execute("DROP ROLE IF EXISTS minuser");
            st.execute("CREATE ROLE minuser LOGIN PASSWORD 'before'");
        }
        // The server password in the config is not yet the role's: every login fails.
        String databases = "forced = host=127.0.0.1 port=${PG_PORT} dbname=postgres user=minuser password=after"
                + " min_pool_size=1 pool_mode=transaction";
        try (SluiceHarness h = SluiceHarness.start(databases,
                "auth_type = md5\nserver_login_retry = 1", SluiceHarness.USERLIST, 2)) {
            Thread.sleep(1500);
            assertEquals(0, serversOn("minuser"));
            try (Connection d = TestPostgres.direct(); Statement st = d.createStatement()) {
                st.execute("ALTER ROLE minuser PASSWORD 'after'");
            }
            // No client asks: the upkeep opens the minimum by itself after server_login_retry.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (serversOn("minuser") < 1 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertEquals(1, serversOn("minuser"));
        } finally {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (serversOn("minuser") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            try (Connection d = TestPostgres.direct(); Statement st = d.createStatement()) {
                st.execute("DROP ROLE IF EXISTS minuser");
            }
        }
    }

    private static int serversOnPostgres() throws SQLException {
        return serversOn("md5user");
    }

    private static int serversOn(String user) throws SQLException {
        try (Connection d = TestPostgres.direct()) {
            return Integer.parseInt(scalar(d, "select count(*) from pg_stat_activity where usename = '" + user + "'"));
        }
    }

}
