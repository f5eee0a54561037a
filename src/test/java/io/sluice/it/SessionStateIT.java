package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * session_state_policy: in transaction mode, session state a client leaves on its server (a
 * SET, an advisory lock, a temporary table, LISTEN, SET ROLE) is undone before the server
 * serves anyone else (reset), or the server is closed (close). PgBouncer hands it on. One
 * server per pool, so the second client always gets the first one's server.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SessionStateIT {
    private static final String DB = "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1"
            + " pool_mode=transaction";

    @BeforeAll
    static void role() throws Exception {
        try (Connection d = TestPostgres.direct(); Statement st = d.createStatement()) {
            st.execute("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice_reader') THEN"
                    + " CREATE ROLE sluice_reader; END IF; END $$");
            st.execute("GRANT sluice_reader TO md5user");
        }
    }

    private static void exec(Connection c, String sql) throws Exception {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static SluiceHarness start(String policy) {
        return SluiceHarness.start(DB, "auth_type = md5\nsession_state_policy = " + policy, SluiceHarness.USERLIST, 1);
    }

    @Test
    void aSessionSetIsUndoneBeforeTheNextClient() throws Exception {
        try (SluiceHarness h = start("reset");
                Connection a = h.connect("tx", "md5user", "md5pass");
                Connection b = h.connect("tx", "md5user", "md5pass")) {
            String pid = scalar(a, "select pg_backend_pid()");
            String defaultPath = scalar(b, "show search_path");
            exec(a, "set search_path = pg_catalog");
            exec(a, "/* a comment first */ SET statement_timeout = '5min'");
            assertThat(scalar(b, "select pg_backend_pid()")).as("the same server, reset").isEqualTo(pid);
            assertThat(scalar(b, "show search_path")).isEqualTo(defaultPath);
            assertThat(scalar(b, "show statement_timeout")).isEqualTo("0");
            a.setAutoCommit(false);
            exec(a, "set local statement_timeout = '7min'");
            assertThat(scalar(a, "show statement_timeout")).isEqualTo("7min");
            a.commit();
            assertThat(scalar(b, "show statement_timeout")).isEqualTo("0");
        }
    }

    @Test
    void connectQueryIsRunAgainAfterTheReset() throws Exception {
        String db = DB + " connect_query='set statement_timeout to 240000'";
        try (SluiceHarness h = SluiceHarness.start(db, "auth_type = md5", SluiceHarness.USERLIST, 1);
                Connection a = h.connect("tx", "md5user", "md5pass");
                Connection b = h.connect("tx", "md5user", "md5pass")) {
            assertThat(scalar(a, "show statement_timeout")).isEqualTo("4min");
            exec(a, "set work_mem = '7MB'");
            assertThat(scalar(b, "show work_mem")).isNotEqualTo("7MB");
            assertThat(scalar(b, "show statement_timeout")).as("connect_query's setting kept").isEqualTo("4min");
        }
    }

    @Test
    void setRoleIsUndone() throws Exception {
        try (SluiceHarness h = start("reset");
                Connection a = h.connect("tx", "md5user", "md5pass");
                Connection b = h.connect("tx", "md5user", "md5pass")) {
            a.setAutoCommit(false);
            exec(a, "set role sluice_reader");
            assertThat(scalar(a, "select current_user")).isEqualTo("sluice_reader");
            a.commit();
            assertThat(scalar(b, "select current_user")).isEqualTo("md5user");
        }
    }

    @Test
    void anAdvisoryLockIsReleased() throws Exception {
        try (SluiceHarness h = start("reset");
                Connection a = h.connect("tx", "md5user", "md5pass");
                Connection b = h.connect("tx", "md5user", "md5pass");
                Connection direct = TestPostgres.direct()) {
            assertThat(scalar(a, "select pg_advisory_lock(4242)::text")).isEmpty();
            // The pool's one server is free again once a's statement is done: b gets it after the unlock.
            assertThat(scalar(b, "select 'b served'")).isEqualTo("b served");
            assertThat(scalar(direct, "select pg_try_advisory_lock(4242)")).as("the lock was let go").isEqualTo("t");
            scalar(direct, "select pg_advisory_unlock(4242)");
        }
    }

    @Test
    void aTemporaryTableAndListenDoNotReachTheNextClient() throws Exception {
        try (SluiceHarness h = start("reset");
                Connection a = h.connect("tx", "md5user", "md5pass");
                Connection b = h.connect("tx", "md5user", "md5pass")) {
            try (Statement st = a.createStatement()) {
                st.execute("create temp table leftover(x int)");
                st.execute("listen leftover_channel");
            }
            try (Statement st = b.createStatement()) {
                st.execute("create temp table leftover(x int)");
            }
            assertThat(scalar(b, "select count(*) from pg_listening_channels()")).isEqualTo("0");
        }
    }

    @Test
    void policyCloseReplacesTheServer() throws Exception {
        try (SluiceHarness h = start("close");
                Connection a = h.connect("tx", "md5user", "md5pass");
                Connection b = h.connect("tx", "md5user", "md5pass")) {
            String pid = scalar(a, "select pg_backend_pid()");
            assertThat(scalar(b, "select pg_backend_pid()")).as("no state: the server is kept").isEqualTo(pid);
            exec(a, "set search_path = pg_catalog");
            assertThat(scalar(b, "select pg_backend_pid()")).as("closed, a new one").isNotEqualTo(pid);
            assertThat(scalar(b, "show search_path")).isNotEqualTo("pg_catalog");
        }
    }
}
