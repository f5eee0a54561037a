package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.testing.LeakCheck;
import io.sluice.testing.TestCerts;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * TLS on both sides, as psql and pgjdbc see it, against certificates this class makes: client
 * TLS in every sslmode that matters (require, verify-ca, verify-full, direct TLS), TLS to a
 * PostgreSQL started with ssl on (prefer, require, verify-ca, verify-full, a client
 * certificate), RELOAD, and the injected-bytes attacks in both directions.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TlsIT {
    private static Path dir;
    private static TestCerts ca;
    private static TestCerts rogue;
    /** Sluice's certificate for clients: localhost and 127.0.0.1; its key in the older SEC1 form. */
    private static TestCerts.Issued sluiceCert;
    /** md5user's client certificate. */
    private static TestCerts.Issued md5userCert;
    /** A client certificate for md5user from a CA nobody trusts. */
    private static TestCerts.Issued rogueCert;
    /** Sluice's certificate towards the TLS PostgreSQL (CN certuser). */
    private static TestCerts.Issued certuserCert;
    private static EmbeddedPostgres tlsPg;

    @BeforeAll
    static void certificatesAndATlsPostgres() throws Exception {
        dir = Files.createTempDirectory("sluice-tls");
        ca = TestCerts.newCa(dir, "ca");
        rogue = TestCerts.newCa(dir, "rogue-ca");
        sluiceCert = ca.serverWithSec1Key("sluice", "localhost", "localhost", "127.0.0.1", "::1");
        md5userCert = ca.client("md5user", "md5user", false);
        rogueCert = rogue.client("rogue-md5user", "md5user", false);
        certuserCert = ca.client("certuser", "certuser", false);
        // PostgreSQL's certificate names localhost only: verify-full to 127.0.0.1 must fail.
        TestCerts.Issued pgCert = ca.server("pg", "localhost", "localhost");
        Path data = Files.createTempDirectory("sluice-tls-pg");
        tlsPg = EmbeddedPostgres.builder()
                .setDataDirectory(data)
                .setCleanDataDirectory(true)
                .setServerConfig("unix_socket_directories", data.toString())
                .setServerConfig("ssl", "on")
                .setServerConfig("ssl_cert_file", pgCert.certFile().toString())
                .setServerConfig("ssl_key_file", pgCert.keyFile().toString())
                .setServerConfig("ssl_ca_file", ca.ca().certFile().toString())
                .start();
        try (Connection c = tlsPg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE ROLE certuser LOGIN");
            st.execute("CREATE ROLE sslonly LOGIN");
        }
        Files.writeString(data.resolve("pg_hba.conf"), String.join("\n",
                "local all all trust",
                "hostssl all certuser 127.0.0.1/32 cert",
                "hostnossl all sslonly 127.0.0.1/32 reject",
                "hostssl all sslonly 127.0.0.1/32 trust",
                "host all postgres 127.0.0.1/32 trust",
                "host all all ::1/128 trust", ""));
        try (Connection c = tlsPg.getPostgresDatabase().getConnection(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_reload_conf()");
        }
    }

    @AfterAll
    static void stopTlsPostgres() throws IOException {
        if (tlsPg != null) {
            tlsPg.close();
        }
    }

    private static String clientTls(String mode) {
        return "client_tls_sslmode = " + mode + "\n"
                + "client_tls_cert_file = " + sluiceCert.certFile() + "\n"
                + "client_tls_key_file = " + sluiceCert.keyFile() + "\n"
                + "client_tls_ca_file = " + ca.ca().certFile() + "\n";
    }

    private static final String PLAIN_DB = "db = host=127.0.0.1 port=${PG_PORT} dbname=postgres";

    private static SluiceHarness.PsqlResult psql(SluiceHarness h, String conninfo) throws Exception {
        return SluiceHarness.psql("-X", "-A", "-t", "-d", "host=127.0.0.1 port=" + h.port() + " " + conninfo,
                "-c", "select 'through ' || current_user");
    }

    // ---- TLS towards clients ----

    @Test
    void requireServesTlsClientsAndRefusesPlaintextOnes() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(PLAIN_DB, "auth_type = md5\nadmin_users = md5user\n"
                + clientTls("require"), SluiceHarness.USERLIST)) {
            var plain = psql(h, "dbname=db user=md5user password=md5pass sslmode=disable");
            assertThat(plain.exitCode()).isNotZero();
            assertThat(plain.output()).contains("SSL required");

            var tls = psql(h, "dbname=db user=md5user password=md5pass sslmode=require");
            assertThat(tls.output()).isEqualTo("through md5user");

            // verify-full: the certificate names 127.0.0.1 and localhost, signed by the CA given.
            var verified = psql(h, "dbname=db user=md5user password=md5pass sslmode=verify-full sslrootcert="
                    + ca.ca().certFile());
            assertThat(verified.output()).isEqualTo("through md5user");
            var verifyCa = psql(h, "dbname=db user=md5user password=md5pass sslmode=verify-ca sslrootcert="
                    + ca.ca().certFile());
            assertThat(verifyCa.output()).isEqualTo("through md5user");
            // By name: localhost is in the certificate too.
            var byName = SluiceHarness.psql("-X", "-A", "-t", "-d", "host=localhost hostaddr=127.0.0.1 port=" + h.port()
                    + " dbname=db user=md5user password=md5pass sslmode=verify-full sslrootcert=" + ca.ca().certFile(),
                    "-c", "select 'by name'");
            assertThat(byName.output()).isEqualTo("by name");
            var wrongCa = psql(h, "dbname=db user=md5user password=md5pass sslmode=verify-full sslrootcert="
                    + rogue.ca().certFile());
            assertThat(wrongCa.exitCode()).isNotZero();
            assertThat(wrongCa.output()).contains("certificate verify failed");

            for (String mode : new String[] {"require", "verify-ca"}) {
                Properties weaker = new Properties();
                weaker.setProperty("sslmode", mode);
                weaker.setProperty("sslrootcert", ca.ca().certFile().toString());
                try (Connection c = h.connect("db", "md5user", "md5pass", weaker)) {
                    assertThat(scalar(c, "select 'jdbc " + mode + "'")).isEqualTo("jdbc " + mode);
                }
            }
            Properties p = new Properties();
            p.setProperty("sslmode", "verify-full");
            p.setProperty("sslrootcert", ca.ca().certFile().toString());
            try (Connection c = h.connect("db", "md5user", "md5pass", p)) {
                assertThat(scalar(c, "select 'jdbc over tls'")).isEqualTo("jdbc over tls");
                // The console tells which clients are encrypted, and how.
                var clients = SluiceHarness.psql("-X", "-A", "-t", "-F", "|", "-d", "host=127.0.0.1 port=" + h.port()
                        + " dbname=pgbouncer user=md5user password=md5pass sslmode=require", "-c", "show clients");
                assertThat(clients.output().lines().filter(l -> l.startsWith("C|md5user|db|"))).singleElement()
                        .asString().matches(".*\\|TLSv1\\.[23]/[A-Z0-9_]+\\|.*");
                // The console's own client too, with psql's application_name as PgBouncer shows it.
                assertThat(clients.output().lines().filter(l -> l.startsWith("C|md5user|pgbouncer|"))).singleElement()
                        .asString().matches(".*\\|TLSv1\\.[23]/[A-Z0-9_]+\\|psql\\|.*");
            }
            // A Unix socket needs no TLS, as in PgBouncer.
            var unix = SluiceHarness.psql("-X", "-A", "-t", "-d", "host=" + h.socketDir() + " port=" + h.port()
                    + " dbname=db user=md5user password=md5pass", "-c", "select 'unix'");
            assertThat(unix.output()).isEqualTo("unix");
        }
    }

    @Test
    void verifyCaWantsAClientCertificateTheCaSigned() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(PLAIN_DB, "auth_type = md5\n" + clientTls("verify-ca"),
                SluiceHarness.USERLIST)) {
            var none = psql(h, "dbname=db user=md5user password=md5pass sslmode=require");
            assertThat(none.exitCode()).isNotZero();
            assertThat(none.output()).containsIgnoringCase("certificate required");

            var signed = psql(h, "dbname=db user=md5user password=md5pass sslmode=require sslcert="
                    + md5userCert.certFile() + " sslkey=" + md5userCert.keyFile());
            assertThat(signed.output()).isEqualTo("through md5user");

            var rogueSigned = psql(h, "dbname=db user=md5user password=md5pass sslmode=require sslcert="
                    + rogueCert.certFile() + " sslkey=" + rogueCert.keyFile());
            assertThat(rogueSigned.exitCode()).isNotZero();
            assertThat(rogueSigned.output()).doesNotContain("through");

            Properties p = new Properties();
            p.setProperty("sslmode", "verify-full");
            p.setProperty("sslrootcert", ca.ca().certFile().toString());
            p.setProperty("sslcert", md5userCert.certFile().toString());
            p.setProperty("sslkey", md5userCert.derKeyFile().toString());
            try (Connection c = h.connect("db", "md5user", "md5pass", p)) {
                assertThat(scalar(c, "select 'jdbc with a certificate'")).isEqualTo("jdbc with a certificate");
            }
        }
    }

    @Test
    void certAuthLogsInTheUserTheCertificateNames() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(PLAIN_DB + " user=postgres", "auth_type = cert\n"
                + clientTls("verify-full"), SluiceHarness.USERLIST)) {
            String cert = " sslmode=require sslcert=" + md5userCert.certFile() + " sslkey=" + md5userCert.keyFile();
            var named = psql(h, "dbname=db user=md5user" + cert);
            // Sluice logs in to PostgreSQL as the database's user; the client is md5user to Sluice.
            assertThat(named.output()).isEqualTo("through postgres");
            var otherUser = psql(h, "dbname=db user=scramuser" + cert);
            assertThat(otherUser.exitCode()).isNotZero();
            assertThat(otherUser.output()).contains("certificate authentication failed");
        }
    }

    @Test
    void hbaTellsTlsFromPlaintextAndTakesCertificates() throws Exception {
        Path hba = dir.resolve("hba.conf");
        Files.writeString(hba, String.join("\n",
                "hostnossl all     all      127.0.0.1/32  reject",
                "hostssl   certdb  md5user  127.0.0.1/32  cert",
                "hostssl   all     md5user  127.0.0.1/32  md5", ""));
        try (SluiceHarness h = SluiceHarness.start(PLAIN_DB + "\ncertdb = host=127.0.0.1 port=${PG_PORT} dbname=postgres",
                "auth_type = hba\nauth_hba_file = " + hba + "\n" + clientTls("prefer"), SluiceHarness.USERLIST)) {
            var plain = psql(h, "dbname=db user=md5user password=md5pass sslmode=disable");
            assertThat(plain.output()).contains("login rejected");
            assertThat(psql(h, "dbname=db user=md5user password=md5pass sslmode=require").output())
                    .isEqualTo("through md5user");
            // cert on hostssl: no password, the certificate's CN is the user.
            String cert = " sslmode=require sslcert=" + md5userCert.certFile() + " sslkey=" + md5userCert.keyFile();
            assertThat(psql(h, "dbname=certdb user=md5user" + cert).output()).isEqualTo("through md5user");
            var noCert = psql(h, "dbname=certdb user=md5user password=md5pass sslmode=require");
            assertThat(noCert.output()).contains("certificate authentication failed");
        }
    }

    @Test
    void directTlsNeedsAlpnPostgresql() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(PLAIN_DB, "auth_type = md5\n" + clientTls("require"),
                SluiceHarness.USERLIST)) {
            Properties p = new Properties();
            p.setProperty("sslmode", "require");
            p.setProperty("sslNegotiation", "direct");
            try (Connection c = h.connect("db", "md5user", "md5pass", p)) {
                assertThat(scalar(c, "select 'direct'")).isEqualTo("direct");
            }
            // The same handshake without ALPN: told why, over TLS, and closed before any login.
            try (SSLSocket s = trustingSocket(h.port(), List.of())) {
                s.getOutputStream().write(startup("md5user", "db"));
                s.getOutputStream().flush();
                String answer = readAll(s.getInputStream());
                assertThat(answer).startsWith("E").contains("without ALPN protocol negotiation extension")
                        .doesNotContain("R\0");
            }
        }
    }

    @Test
    void plaintextInjectedAroundTheSslRequestIsNeverExecuted() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(PLAIN_DB, "auth_type = trust\n" + clientTls("prefer"),
                SluiceHarness.USERLIST)) {
            // In the same packet as the SSLRequest: refused before any handshake, as PostgreSQL does.
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), h.port())) {
                s.setSoTimeout(10_000);
                ByteArrayOutputStream attack = new ByteArrayOutputStream();
                attack.write(sslRequest());
                attack.write(startup("postgres", "db"));
                attack.write(query("CREATE TABLE injected_one ()"));
                s.getOutputStream().write(attack.toByteArray());
                String answer = readAll(s.getInputStream());
                assertThat(answer).startsWith("E").contains("received unencrypted data after SSL request");
            }
            // After the 'S', in plaintext: the TLS handshake fails on it and the connection closes.
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), h.port())) {
                s.setSoTimeout(10_000);
                s.getOutputStream().write(sslRequest());
                assertThat(s.getInputStream().read()).isEqualTo('S');
                ByteArrayOutputStream attack = new ByteArrayOutputStream();
                attack.write(startup("postgres", "db"));
                attack.write(query("CREATE TABLE injected_two ()"));
                s.getOutputStream().write(attack.toByteArray());
                String answer = readAll(s.getInputStream());
                assertThat(answer).doesNotContain("R\0\0\0\b");
            }
            // The same login in plaintext without the SSLRequest works: the refusals above were the attack's.
            var plain = SluiceHarness.psql("-X", "-A", "-t", "-d", "host=127.0.0.1 port=" + h.port()
                    + " dbname=db user=postgres sslmode=disable", "-c", "select 'plain ok'");
            assertThat(plain.output()).isEqualTo("plain ok");
        }
        try (Connection c = TestPostgres.direct()) {
            assertThat(scalar(c, "select count(*) from pg_class where relname like 'injected%'")).isEqualTo("0");
        }
    }

    @Test
    void reloadAppliesClientTlsToNewConnectionsAndKeepsTheOldOnes() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(PLAIN_DB, "auth_type = md5", SluiceHarness.USERLIST);
                Connection before = h.connect("db", "md5user", "md5pass")) {
            var refused = psql(h, "dbname=db user=md5user password=md5pass sslmode=require");
            assertThat(refused.output()).contains("server does not support SSL");

            Path ini = h.socketDir().resolve("pgbouncer.ini");
            Files.writeString(ini, Files.readString(ini) + clientTls("require"));
            assertThat(h.sluice().reload()).isNull();

            assertThat(scalar(before, "select 'kept'")).isEqualTo("kept");
            assertThat(psql(h, "dbname=db user=md5user password=md5pass sslmode=disable").output())
                    .contains("SSL required");
            assertThat(psql(h, "dbname=db user=md5user password=md5pass sslmode=require").output())
                    .isEqualTo("through md5user");

            // A reload whose TLS cannot be set up is refused whole: the running TLS stays.
            Files.writeString(ini, Files.readString(ini) + "client_tls_key_file = " + dir.resolve("missing.key") + "\n");
            assertThat(h.sluice().reload()).contains("client_tls_key_file").contains("cannot read");
            assertThat(psql(h, "dbname=db user=md5user password=md5pass sslmode=require").output())
                    .isEqualTo("through md5user");
        }
    }

    // ---- TLS towards PostgreSQL ----

    private static String tlsDb(String host, String user) {
        return "db = host=" + host + " port=" + tlsPg.getPort() + " dbname=postgres user=" + user
                + " pool_mode=transaction";
    }

    private static final String SSL_IN_USE = "select ssl from pg_stat_ssl where pid = pg_backend_pid()";

    @Test
    void preferUsesTlsWhereTheServerHasIt() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(tlsDb("127.0.0.1", "sslonly"), "auth_type = trust",
                SluiceHarness.USERLIST);
                Connection c = h.connect("db", "md5user", "unused")) {
            assertThat(scalar(c, SSL_IN_USE)).isEqualTo("t");
        }
    }

    @Test
    void verifyFullChecksTheHostNameAndVerifyCaTheChain() throws Exception {
        String caFile = "server_tls_ca_file = " + ca.ca().certFile() + "\n";
        try (SluiceHarness h = SluiceHarness.start(tlsDb("localhost", "sslonly"),
                "auth_type = trust\nserver_tls_sslmode = verify-full\n" + caFile, SluiceHarness.USERLIST);
                Connection c = h.connect("db", "md5user", "unused")) {
            assertThat(scalar(c, SSL_IN_USE)).isEqualTo("t");
        }
        // PostgreSQL's certificate does not name 127.0.0.1.
        try (SluiceHarness h = SluiceHarness.start(tlsDb("127.0.0.1", "sslonly"),
                "auth_type = trust\nserver_tls_sslmode = verify-full\nserver_connect_timeout = 5\n" + caFile,
                SluiceHarness.USERLIST)) {
            SQLException e = assertThrows(SQLException.class, () -> scalar(h.connect("db", "md5user", "unused"), "select 1"));
            assertThat(e.getMessage()).contains("TLS startup failed");
        }
        try (SluiceHarness h = SluiceHarness.start(tlsDb("127.0.0.1", "sslonly"),
                "auth_type = trust\nserver_tls_sslmode = verify-ca\n" + caFile, SluiceHarness.USERLIST);
                Connection c = h.connect("db", "md5user", "unused")) {
            assertThat(scalar(c, SSL_IN_USE)).isEqualTo("t");
        }
        // A CA that did not sign PostgreSQL's certificate.
        try (SluiceHarness h = SluiceHarness.start(tlsDb("127.0.0.1", "sslonly"),
                "auth_type = trust\nserver_tls_sslmode = verify-ca\nserver_tls_ca_file = " + rogue.ca().certFile(),
                SluiceHarness.USERLIST)) {
            SQLException e = assertThrows(SQLException.class, () -> scalar(h.connect("db", "md5user", "unused"), "select 1"));
            assertThat(e.getMessage()).contains("TLS startup failed");
        }
    }

    @Test
    void aClientCertificateLogsSluiceIn() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(tlsDb("127.0.0.1", "certuser"),
                "auth_type = trust\nserver_tls_sslmode = require\nserver_tls_cert_file = " + certuserCert.certFile()
                        + "\nserver_tls_key_file = " + certuserCert.keyFile(), SluiceHarness.USERLIST);
                Connection c = h.connect("db", "md5user", "unused")) {
            assertThat(scalar(c, "select current_user || ' ' || (" + SSL_IN_USE + ")")).isEqualTo("certuser true");
        }
    }

    @Test
    void requireGivesUpOnAServerWithoutTls() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(PLAIN_DB + " user=postgres",
                "auth_type = trust\nserver_tls_sslmode = require", SluiceHarness.USERLIST)) {
            SQLException e = assertThrows(SQLException.class, () -> scalar(h.connect("db", "md5user", "unused"), "select 1"));
            assertThat(e.getMessage()).contains("server refused SSL");
        }
    }

    @Test
    void reloadReplacesServersWhenServerTlsChanges() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(tlsDb("127.0.0.1", "postgres"),
                "auth_type = trust\nserver_tls_sslmode = disable", SluiceHarness.USERLIST);
                Connection c = h.connect("db", "md5user", "unused")) {
            assertThat(scalar(c, SSL_IN_USE)).isEqualTo("f");
            Path ini = h.socketDir().resolve("pgbouncer.ini");
            Files.writeString(ini, Files.readString(ini).replace("server_tls_sslmode = disable",
                    "server_tls_sslmode = verify-ca\nserver_tls_ca_file = " + ca.ca().certFile()));
            assertThat(h.sluice().reload()).isNull();
            // The old server is closed as it comes free; the client's next transaction is on a new one.
            String now = scalar(c, SSL_IN_USE);
            if (!now.equals("t")) {
                now = scalar(c, SSL_IN_USE);
            }
            assertThat(now).isEqualTo("t");
        }
    }

    @Test
    void aServerAnswerBeforeTheHandshakeIsNeverRelayed() throws Exception {
        // A fake server (or a man in the middle) answering the SSLRequest with 'S' and plaintext
        // behind it, or with an ErrorResponse of its own words.
        byte[] injected = "Sgarbage".getBytes(StandardCharsets.US_ASCII);
        byte[] error = errorResponse("injected by the network");
        try (ServerSocket fake = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                for (byte[] answer : List.of(injected, error)) {
                    try (Socket s = fake.accept()) {
                        DataInputStream in = new DataInputStream(s.getInputStream());
                        in.readInt();
                        in.readInt();
                        s.getOutputStream().write(answer);
                        s.getOutputStream().flush();
                        s.setSoTimeout(5_000);
                        in.read();
                    } catch (IOException ignored) {
                        // the next one
                    }
                }
            });
            t.setDaemon(true);
            t.start();
            String db = "db = host=127.0.0.1 port=" + fake.getLocalPort() + " dbname=x user=x";
            try (SluiceHarness h = SluiceHarness.start(db, "auth_type = trust\nserver_login_retry = 0",
                    SluiceHarness.USERLIST)) {
                SQLException first = assertThrows(SQLException.class, () -> h.connect("db", "md5user", "unused").close());
                assertThat(first.getMessage()).contains("received unencrypted data after SSL response");
                SQLException second = assertThrows(SQLException.class, () -> h.connect("db", "md5user", "unused").close());
                assertThat(second.getMessage()).contains("bad sslreq answer").doesNotContain("injected");
            }
        }
    }

    // ---- wire helpers ----

    private static byte[] sslRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(80877103).array();
    }

    private static byte[] startup(String user, String db) {
        byte[] params = ("user\0" + user + "\0database\0" + db + "\0\0").getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + params.length).putInt(8 + params.length).putInt(196608).put(params).array();
    }

    private static byte[] query(String sql) {
        byte[] text = (sql + "\0").getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(5 + text.length).put((byte) 'Q').putInt(4 + text.length).put(text).array();
    }

    private static byte[] errorResponse(String message) {
        byte[] fields = ("SFATAL\0C28000\0M" + message + "\0\0").getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(5 + fields.length).put((byte) 'E').putInt(4 + fields.length).put(fields).array();
    }

    /** Everything until the peer closes (or 10 s), as Latin-1 text for matching. */
    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        try {
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
        } catch (EOFException | java.net.SocketException | javax.net.ssl.SSLException closed) {
            // the end, however the peer ended it
        }
        return out.toString(StandardCharsets.ISO_8859_1);
    }

    /** A direct TLS connection (no SSLRequest) that trusts any certificate, offering {@code alpn}. */
    private static SSLSocket trustingSocket(int port, List<String> alpn) throws Exception {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        SSLParameters params = s.getSSLParameters();
        params.setApplicationProtocols(alpn.toArray(new String[0]));
        params.setServerNames(List.of(new SNIHostName("localhost")));
        s.setSSLParameters(params);
        s.startHandshake();
        return s;
    }
}
