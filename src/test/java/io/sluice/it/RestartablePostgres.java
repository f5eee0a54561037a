package io.sluice.it;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Comparator;

/**
 * A PostgreSQL that one test class owns, so that it may stop it and start it again on the same
 * data directory and port (the shared {@link TestPostgres} must stay up for the other classes).
 * Roles: only {@code postgres}, trusted.
 */
final class RestartablePostgres implements AutoCloseable {
    private final Path dataDir;
    private final int port;
    private EmbeddedPostgres pg;

    private RestartablePostgres(Path dataDir, int port) {
        this.dataDir = dataDir;
        this.port = port;
    }

    /** initdb in a new directory, then started. */
    static RestartablePostgres start() {
        try {
            RestartablePostgres p = new RestartablePostgres(Files.createTempDirectory("sluice-own-pg"),
                    SluiceHarness.freePort());
            p.startAgain();
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int port() {
        return port;
    }

    /** A fast shutdown (pg_ctl stop -m fast): backends are ended with 57P01, new connections refused. */
    void stop() {
        try {
            pg.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            pg = null;
        }
    }

    /** Starts it on the same data directory and port; it keeps what it had (no initdb). */
    void startAgain() {
        try {
            pg = EmbeddedPostgres.builder()
                    .setDataDirectory(dataDir)
                    // Kept on stop, so that a start finds the same cluster.
                    .setCleanDataDirectory(false)
                    .setPort(port)
                    .setServerConfig("max_connections", "100")
                    .setServerConfig("unix_socket_directories", dataDir.toString())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A direct connection as postgres, bypassing Sluice. */
    Connection direct() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", "");
    }

    @Override
    public void close() {
        if (pg != null) {
            stop();
        }
        try (var files = Files.walk(dataDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
