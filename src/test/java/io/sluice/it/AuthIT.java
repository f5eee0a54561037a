package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.testing.LeakCheck;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Client authentication under each auth_type, and Sluice's own logins to PostgreSQL by
 * cleartext, md5 and SCRAM, driven by pgjdbc.
 */
@ExtendWith(LeakCheck.class)
class AuthIT {
    private static final String DATABASES = "* = host=127.0.0.1 port=${PG_PORT}";
    private static final String COMMON = "ignore_startup_parameters = extra_float_digits\n";

    private static String currentUser(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Each client auth_type, each server login method (postgres: trust, md5user: md5, ...). */
    @ParameterizedTest(name = "auth_type={0} as {1}")
    @CsvSource({
        "trust, postgres, ''", "trust, md5user, ''", "trust, scramuser, ''", "trust, plainuser, ''",
        "plain, md5user, md5pass", "plain, scramuser, scrampass",
        "md5, md5user, md5pass", "md5, scramuser, scrampass", "md5, plainuser, plainpass",
        "scram-sha-256, scramuser, scrampass", "scram-sha-256, md5user, md5pass"})
    void loginSucceeds(String authType, String user, String password) throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES, COMMON + "auth_type = " + authType,
                SluiceHarness.USERLIST);
                Connection c = h.connect("postgres", user, password)) {
            assertThat(currentUser(c)).isEqualTo(user);
        }
    }

    @ParameterizedTest(name = "auth_type={0}")
    @CsvSource({"plain", "md5", "scram-sha-256"})
    void wrongPasswordAndUnknownUserGetTheSameError(String authType) throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES, COMMON + "auth_type = " + authType,
                SluiceHarness.USERLIST)) {
            assertThatThrownBy(() -> h.connect("postgres", "md5user", "wrong").close())
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("password authentication failed")
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("28P01");
            assertThatThrownBy(() -> h.connect("postgres", "nobody", "wrong").close())
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("password authentication failed")
                    .extracting(e -> ((SQLException) e).getSQLState()).isEqualTo("28P01");
        }
    }

    /** On the wire, an unknown user is asked for a password exactly like a known one. */
    @ParameterizedTest(name = "auth_type={0}")
    @CsvSource({"plain, 3", "md5, 5", "scram-sha-256, 10"})
    void unknownUserSeesTheSameChallenge(String authType, int expectedCode) throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES, COMMON + "auth_type = " + authType,
                SluiceHarness.USERLIST)) {
            assertThat(firstAuthRequest(h.port(), "md5user")).isEqualTo(expectedCode);
            assertThat(firstAuthRequest(h.port(), "nobody")).isEqualTo(expectedCode);
        }
    }

    private static int firstAuthRequest(int port, String user) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            byte[] params = ("user\0" + user + "\0database\0postgres\0\0").getBytes(StandardCharsets.UTF_8);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(8 + params.length);
            out.writeInt(196608);
            out.write(params);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            assertThat((char) in.readByte()).isEqualTo('R');
            in.readInt();
            return in.readInt();
        }
    }

    /** auth_file holding PostgreSQL's own md5 and SCRAM secrets instead of passwords. */
    @Test
    void secretsFromPgAuthidWork() throws Exception {
        String md5Secret;
        String scramSecret;
        try (Connection c = TestPostgres.direct(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(
                        "SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('md5user','scramuser')"
                                + " ORDER BY rolname")) {
            rs.next();
            md5Secret = rs.getString(2);
            rs.next();
            scramSecret = rs.getString(2);
        }
        assertThat(md5Secret).startsWith("md5");
        assertThat(scramSecret).startsWith("SCRAM-SHA-256$");
        String userlist = "\"md5user\" \"" + md5Secret + "\"\n\"scramuser\" \"" + scramSecret + "\"\n";
        try (SluiceHarness h = SluiceHarness.start(DATABASES, COMMON + "auth_type = md5", userlist)) {
            try (Connection c = h.connect("postgres", "md5user", "md5pass")) {
                assertThat(currentUser(c)).isEqualTo("md5user");
            }
            // SCRAM secret: the client is authenticated by SCRAM, and Sluice logs into
            // PostgreSQL with the keys that login proved, never knowing the password.
            try (Connection c = h.connect("postgres", "scramuser", "scrampass")) {
                assertThat(currentUser(c)).isEqualTo("scramuser");
            }
            assertThatThrownBy(() -> h.connect("postgres", "scramuser", "nope").close())
                    .hasMessageContaining("password authentication failed");
        }
    }

    /** When PostgreSQL rejects Sluice's login, the waiting client gets PostgreSQL's own error. */
    @Test
    void serverLoginFailureReachesTheClient() throws Exception {
        String dbs = "badpw = host=127.0.0.1 port=${PG_PORT} dbname=postgres user=md5user password=wrong";
        try (SluiceHarness h = SluiceHarness.start(dbs, COMMON + "auth_type = trust", SluiceHarness.USERLIST)) {
            assertThatThrownBy(() -> h.connect("badpw", "postgres", "").close())
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("password authentication failed");
            // The next client within server_login_retry gets the cached error at once.
            assertThatThrownBy(() -> h.connect("badpw", "postgres", "").close())
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("server login has been failing, cached error:")
                    .hasMessageContaining("(server_login_retry)");
        }
    }

    @Test
    void unsupportedStartupParameterIsRejectedUnlessIgnored() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES, "auth_type = trust", SluiceHarness.USERLIST)) {
            assertThat(firstReply(h.port(), "user\0postgres\0extra_float_digits\0" + "2\0"))
                    .isEqualTo("E:unsupported startup parameter: extra_float_digits");
            java.util.Properties options = new java.util.Properties();
            options.setProperty("options", "-c statement_timeout=5");
            assertThatThrownBy(() -> h.connect("postgres", "postgres", "", options).close())
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("unsupported options startup parameter");
        }
        try (SluiceHarness h = SluiceHarness.start(DATABASES, COMMON + "auth_type = trust", SluiceHarness.USERLIST)) {
            assertThat(firstReply(h.port(), "user\0postgres\0extra_float_digits\0" + "2\0")).isEqualTo("R:0");
        }
    }

    /** Sends a StartupMessage with the given parameter block; returns "R:code" or "E:message". */
    private static String firstReply(int port, String params) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            byte[] p = (params + "\0").getBytes(StandardCharsets.UTF_8);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(8 + p.length);
            out.writeInt(196608);
            out.write(p);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte type = in.readByte();
            byte[] body = new byte[in.readInt() - 4];
            in.readFully(body);
            if (type == 'R') {
                return "R:" + java.nio.ByteBuffer.wrap(body).getInt();
            }
            String text = new String(body, StandardCharsets.UTF_8);
            int m = text.indexOf("\0M");
            return (char) type + ":" + text.substring(m + 2, text.indexOf('\0', m + 2));
        }
    }

    /** Tracked parameters given in options (-c TimeZone=...) reach the server. */
    @Test
    void trackedParameterInOptionsIsApplied() throws Exception {
        java.util.Properties options = new java.util.Properties();
        options.setProperty("options", "-c TimeZone=Asia/Tokyo");
        try (SluiceHarness h = SluiceHarness.start(DATABASES, COMMON + "auth_type = trust", SluiceHarness.USERLIST);
                Connection c = h.connect("postgres", "postgres", "", options);
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT current_setting('TimeZone')")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("Asia/Tokyo");
        }
    }

    @Test
    void applicationNameAddHostAppendsTheClientAddress() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES,
                COMMON + "auth_type = trust\napplication_name_add_host = 1", SluiceHarness.USERLIST)) {
            var r = SluiceHarness.psql("-X", "-At", "-c", "SELECT current_setting('application_name')",
                    "postgresql://postgres@127.0.0.1:" + h.port() + "/postgres?application_name=billing");
            assertThat(r.output()).matches("billing - 127\\.0\\.0\\.1:\\d+");
        }
    }
}
