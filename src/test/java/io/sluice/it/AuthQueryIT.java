package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * auth_user, auth_query and auth_dbname as a client sees them: users missing from auth_file
 * (or with no auth_file at all) log in with the secrets PostgreSQL holds; an unknown user, a
 * wrong password and an expired one are refused alike; a user name is data, never SQL; the
 * client's start-up parameters never reach the lookup; SCRAM passes through to the server.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AuthQueryIT {
    /** A user name made to break a query that pasted it into SQL. */
    private static final String SQL_NAME = "aq'); drop table aq_canary; --\"";

    @BeforeAll
    static void roles() throws Exception {
        try (Connection c = TestPostgres.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS aq_canary");
            st.execute("CREATE TABLE aq_canary ()");
            st.execute("GRANT SELECT ON aq_canary TO PUBLIC");
            st.execute("SET password_encryption = 'scram-sha-256'");
            for (String role : new String[] {"aq_scram", "aq_expired", SQL_NAME}) {
                st.execute("DROP ROLE IF EXISTS " + ident(role));
            }
            st.execute("CREATE ROLE aq_scram LOGIN PASSWORD 'scram-pw'");
            st.execute("CREATE ROLE aq_expired LOGIN PASSWORD 'old-pw' VALID UNTIL '2001-01-01'");
            st.execute("CREATE ROLE " + ident(SQL_NAME) + " LOGIN PASSWORD 'sql-pw'");
            st.execute("SET password_encryption = 'md5'");
            st.execute("DROP ROLE IF EXISTS aq_md5");
            st.execute("CREATE ROLE aq_md5 LOGIN PASSWORD 'md5-pw'");
            // A look-alike of pg_authid that a search_path set by a client could put first.
            st.execute("DROP SCHEMA IF EXISTS evil CASCADE");
            st.execute("CREATE SCHEMA evil");
            st.execute("CREATE TABLE evil.pg_authid (rolname name, rolpassword text, rolvaliduntil timestamptz,"
                    + " rolcanlogin bool)");
            st.execute("INSERT INTO evil.pg_authid VALUES ('aq_scram', 'ghost-pw', null, true)");
            // An auth_user whose own default search_path would put it first.
            st.execute("DROP ROLE IF EXISTS aq_auth");
            st.execute("CREATE ROLE aq_auth LOGIN SUPERUSER");
            st.execute("ALTER ROLE aq_auth SET search_path = evil, pg_catalog");
        }
    }

    private static String ident(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    /**
     * Sluice with no auth_file at all: every user comes from auth_query, run as postgres (a
     * trusted role in the test PostgreSQL, so it needs no secret either).
     */
    private static SluiceHarness start(String databases, String authType) {
        return start(databases, authType, "postgres");
    }

    private static SluiceHarness start(String databases, String authType, String authUser) {
        return SluiceHarness.start(databases, "auth_type = " + authType + "\nauth_file =\nauth_user = " + authUser
                + "\ntrack_extra_parameters = search_path\n", "");
    }

    private static final String FORCED = "db = host=127.0.0.1 port=${PG_PORT} dbname=postgres user=postgres";

    @Test
    void usersComeFromPostgresqlAndStrangersAreRefusedAlike() throws Exception {
        try (SluiceHarness h = start(FORCED, "scram-sha-256")) {
            try (Connection c = h.connect("db", "aq_scram", "scram-pw")) {
                assertThat(scalar(c, "select current_user")).isEqualTo("postgres");
            }
            String wrong = refusal(h, "aq_scram", "nope");
            assertThat(wrong).isEqualTo("FATAL: password authentication failed");
            // Unknown, expired: the same words (PgBouncer's).
            assertThat(refusal(h, "aq_nobody", "nope"))
                    .isEqualTo("FATAL: password authentication failed");
            assertThat(refusal(h, "aq_expired", "old-pw"))
                    .isEqualTo("FATAL: password authentication failed");
            // psql sees it the same way.
            var psql = SluiceHarness.psql("-X", "-d", "host=127.0.0.1 port=" + h.port()
                    + " dbname=db user=aq_nobody password=x", "-c", "select 1");
            assertThat(psql.output()).endsWith("FATAL:  password authentication failed");
        }
    }

    private static String refusal(SluiceHarness h, String user, String password) {
        SQLException e = assertThrows(SQLException.class, () -> h.connect("db", user, password).close());
        assertThat(e.getSQLState()).isEqualTo("28P01");
        return "FATAL: " + ((org.postgresql.util.PSQLException) e).getServerErrorMessage().getMessage();
    }

    @Test
    void aUserNameIsDataNeverSql() throws Exception {
        try (SluiceHarness h = start(FORCED, "scram-sha-256");
                Connection c = h.connect("db", SQL_NAME, "sql-pw")) {
            assertThat(scalar(c, "select count(*) from aq_canary")).isEqualTo("0");
            assertThrows(SQLException.class, () -> h.connect("db", SQL_NAME, "wrong").close());
        }
    }

    @Test
    void scramKeysFromTheClientsExchangeLogSluiceInToPostgresql() throws Exception {
        // No forced user: Sluice logs in to PostgreSQL as the client's user, with no password of
        // its own, only the SCRAM secret auth_query found and the keys the client's proof gave.
        try (SluiceHarness h = start("db = host=127.0.0.1 port=${PG_PORT} dbname=postgres", "scram-sha-256");
                Connection c = h.connect("db", "aq_scram", "scram-pw")) {
            assertThat(scalar(c, "select current_user")).isEqualTo("aq_scram");
        }
        // An md5 secret logs in to an md5 server by itself.
        try (SluiceHarness h = start("db = host=127.0.0.1 port=${PG_PORT} dbname=postgres", "md5");
                Connection c = h.connect("db", "aq_md5", "md5-pw")) {
            assertThat(scalar(c, "select current_user")).isEqualTo("aq_md5");
        }
    }

    @Test
    void aChangedPasswordCountsAtTheNextLogin() throws Exception {
        // md5: an md5 secret cannot serve a SCRAM exchange (as in PostgreSQL and PgBouncer).
        try (SluiceHarness h = start(FORCED, "md5")) {
            try (Connection c = h.connect("db", "aq_md5", "md5-pw")) {
                assertThat(scalar(c, "select 1")).isEqualTo("1");
            }
            try (Connection admin = TestPostgres.direct(); Statement st = admin.createStatement()) {
                st.execute("SET password_encryption = 'md5'");
                st.execute("ALTER ROLE aq_md5 PASSWORD 'md5-pw-2'");
            }
            try {
                assertThrows(SQLException.class, () -> h.connect("db", "aq_md5", "md5-pw").close());
                try (Connection c = h.connect("db", "aq_md5", "md5-pw-2")) {
                    assertThat(scalar(c, "select 2")).isEqualTo("2");
                }
            } finally {
                try (Connection admin = TestPostgres.direct(); Statement st = admin.createStatement()) {
                    st.execute("SET password_encryption = 'md5'");
                    st.execute("ALTER ROLE aq_md5 PASSWORD 'md5-pw'");
                }
            }
        }
    }

    @Test
    void neitherTheClientsNorTheAuthUsersSearchPathReachesTheLookup() throws Exception {
        // aq_auth's own default search_path lists evil first; the client asks for evil too.
        try (SluiceHarness h = start(FORCED, "md5", "aq_auth")) {
            Properties p = new Properties();
            p.setProperty("options", "");
            p.setProperty("currentSchema", "evil");
            // evil.pg_authid says aq_scram's password is ghost-pw: the lookup must not see it.
            SQLException e = assertThrows(SQLException.class, () -> h.connect("db", "aq_scram", "ghost-pw", p).close());
            assertThat(e.getMessage()).contains("password authentication failed");
            try (Connection c = h.connect("db", "aq_scram", "scram-pw", p)) {
                assertThat(scalar(c, "show search_path")).isEqualTo("evil");
            }
        }
    }

    @Test
    void authDbnameNamesWhereTheQueryRuns() throws Exception {
        String dbs = FORCED + " auth_dbname=authdb\nauthdb = host=127.0.0.1 port=${PG_PORT} dbname=postgres\n"
                + "nowhere = host=127.0.0.1 port=${PG_PORT} dbname=postgres user=postgres auth_dbname=missing";
        try (SluiceHarness h = start(dbs, "scram-sha-256")) {
            try (Connection c = h.connect("db", "aq_scram", "scram-pw")) {
                assertThat(scalar(c, "select 'via authdb'")).isEqualTo("via authdb");
            }
            SQLException e = assertThrows(SQLException.class, () -> h.connect("nowhere", "aq_scram", "scram-pw").close());
            assertThat(e.getMessage()).contains("bouncer config error");
        }
    }
}
