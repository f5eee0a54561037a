package io.sluice.it;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The real PostgreSQL every integration test runs against: started once per test JVM from
 * Maven Central's embedded binaries, with roles for each server authentication method.
 *
 * <p>Roles: {@code postgres} (trust), {@code md5user}/{@code md5pass} (md5),
 * {@code scramuser}/{@code scrampass} (scram-sha-256), {@code plainuser}/{@code plainpass}
 * (cleartext "password" method).
 */
public final class TestPostgres {
    private static EmbeddedPostgres pg;
    private static Path dataDir;

    private TestPostgres() {
    }

    public static synchronized EmbeddedPostgres get() {
        if (pg == null) {
            try {
                dataDir = Files.createTempDirectory("sluice-pg");
                pg = EmbeddedPostgres.builder()
                        .setDataDirectory(dataDir)
                        .setCleanDataDirectory(true)
                        .setServerConfig("max_connections", "300")
                        .setServerConfig("unix_socket_directories", dataDir.toString())
                        .start();
                setUp();
                Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                    try {
                        pg.close();
                    } catch (IOException ignored) {
                        // exiting anyway
                    }
                }));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        }
        return pg;
    }

    public static int port() {
        return get().getPort();
    }

    public static Path socketDir() {
        get();
        return dataDir;
    }

    /** A direct connection to PostgreSQL as postgres, bypassing Sluice. */
    public static Connection direct() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port() + "/postgres", "postgres", "");
    }

    /** pgbench's tables at scale 1, usable by md5user (the pooled role in the tests). */
    public static synchronized void loadPgbench() throws Exception {
        var init = SluiceHarness.run("pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1",
                "-p", String.valueOf(port()), "-U", "postgres", "postgres");
        if (init.exitCode() != 0) {
            throw new IllegalStateException("pgbench -i failed: " + init.output());
        }
        try (Connection c = direct(); Statement st = c.createStatement()) {
            st.execute("GRANT ALL ON pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history TO md5user");
        }
    }

    private static void setUp() throws SQLException, IOException {
        try (Connection c = direct(); Statement st = c.createStatement()) {
            st.execute("SET password_encryption = 'md5'");
            st.execute("CREATE ROLE md5user LOGIN PASSWORD 'md5pass'");
            st.execute("CREATE ROLE plainuser LOGIN PASSWORD 'plainpass'");
            st.execute("SET password_encryption = 'scram-sha-256'");
            st.execute("CREATE ROLE scramuser LOGIN PASSWORD 'scrampass'");
            st.execute("GRANT pg_signal_backend TO postgres");
        }
        Files.writeString(dataDir.resolve("pg_hba.conf"), String.join("\n",
                "local all all trust",
                "host all postgres 127.0.0.1/32 trust",
                "host all md5user 127.0.0.1/32 md5",
                "host all scramuser 127.0.0.1/32 scram-sha-256",
                "host all plainuser 127.0.0.1/32 password",
                // A role a test creates, and changes the password of (UpkeepIT).
                "host all minuser 127.0.0.1/32 md5",
                // Roles AuthQueryIT creates, logged in to with the secrets auth_query finds.
                "host all aq_scram 127.0.0.1/32 scram-sha-256",
                "host all aq_md5 127.0.0.1/32 md5",
                "host all aq_auth 127.0.0.1/32 trust",
                "host all all ::1/128 trust", ""));
        try (Connection c = direct(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_reload_conf()");
        }
    }
}
