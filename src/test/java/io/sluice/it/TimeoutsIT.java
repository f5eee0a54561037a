package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * query_timeout, idle_transaction_timeout and client_idle_timeout as a client sees them, with
 * PgBouncer's messages: the work that ran too long (or a client that sat too long) is ended,
 * its server closed rather than handed on, and the pool goes on serving others.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TimeoutsIT {
    private static final String DB = "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1"
            + " pool_mode=transaction";

    private static int backendsSleeping() throws SQLException {
        try (Connection d = TestPostgres.direct()) {
            return Integer.parseInt(scalar(d, "select count(*) from pg_stat_activity where query like"
                    + " 'select pg_sleep(8)%' and state = 'active'"));
        }
    }

    @Test
    void queryTimeoutEndsALongQueryAndTheServerIsNotReused() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DB, "auth_type = md5\nquery_timeout = 2", SluiceHarness.USERLIST);
                Connection slow = h.connect("tx", "md5user", "md5pass");
                Connection next = h.connect("tx", "md5user", "md5pass")) {
            long t0 = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> scalar(slow, "select pg_sleep(8)"));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(e.getMessage()).contains("query timeout");
            assertThat(ms).as("ended after query_timeout, not after the 8 s sleep").isBetween(1_900L, 6_000L);
            assertThat(scalar(next, "select 'served'")).isEqualTo("served");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (backendsSleeping() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(backendsSleeping()).as("the backend's query was cancelled, not left running").isZero();
        }
    }

    @Test
    void idleTransactionTimeoutFreesTheOnlyServer() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DB, "auth_type = md5\nidle_transaction_timeout = 1",
                SluiceHarness.USERLIST);
                Connection idle = h.connect("tx", "md5user", "md5pass");
                Connection other = h.connect("tx", "md5user", "md5pass")) {
            idle.setAutoCommit(false);
            assertThat(scalar(idle, "select 1")).isEqualTo("1");
            // The only server is held by an idle transaction: the other client gets it once the timeout ends it.
            long t0 = System.nanoTime();
            assertThat(scalar(other, "select 'after'")).isEqualTo("after");
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(900L, 5_000L);
            SQLException e = assertThrows(SQLException.class, () -> scalar(idle, "select 2"));
            assertThat(e.getMessage()).contains("idle transaction timeout");
        }
    }

    @Test
    void clientIdleTimeoutClosesAnIdleClient() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DB, "auth_type = md5\nclient_idle_timeout = 1",
                SluiceHarness.USERLIST);
                Connection c = h.connect("tx", "md5user", "md5pass");
                Connection busy = h.connect("tx", "md5user", "md5pass")) {
            assertThat(scalar(c, "select 1")).isEqualTo("1");
            for (int i = 0; i < 6; i++) {
                assertThat(scalar(busy, "select " + i)).as("a client that keeps working stays").isEqualTo("" + i);
                Thread.sleep(500);
            }
            SQLException e = assertThrows(SQLException.class, () -> scalar(c, "select 2"));
            assertThat(e.getMessage()).contains("client_idle_timeout");
        }
    }

    @Test
    void transactionTimeoutEndsATransactionOpenTooLong() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DB, "auth_type = md5\ntransaction_timeout = 2",
                SluiceHarness.USERLIST);
                Connection c = h.connect("tx", "md5user", "md5pass");
                Connection other = h.connect("tx", "md5user", "md5pass")) {
            c.setAutoCommit(false);
            SQLException e = assertThrows(SQLException.class, () -> {
                for (int i = 0; i < 20; i++) {
                    scalar(c, "select pg_sleep(0.3)");
                }
            });
            assertThat(e.getMessage()).contains("transaction timeout");
            assertThat(scalar(other, "select 'next'")).isEqualTo("next");
        }
    }

    @Test
    void aUsersOwnQueryTimeoutOverridesTheGlobalOne() throws Exception {
        String dbs = DB + "\n\n[users]\nmd5user = query_timeout=1";
        try (SluiceHarness h = SluiceHarness.start(dbs, "auth_type = md5", SluiceHarness.USERLIST);
                Connection c = h.connect("tx", "md5user", "md5pass")) {
            SQLException e = assertThrows(SQLException.class, () -> scalar(c, "select pg_sleep(8)"));
            assertThat(e.getMessage()).contains("query timeout");
        }
    }
}
