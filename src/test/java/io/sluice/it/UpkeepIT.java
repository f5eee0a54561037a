package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.SQLException;
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

    private static int serversOnPostgres() throws SQLException {
        try (Connection d = TestPostgres.direct()) {
            return Integer.parseInt(scalar(d, "select count(*) from pg_stat_activity where usename = 'md5user'"));
        }
    }

}
