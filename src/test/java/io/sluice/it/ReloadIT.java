package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.testing.LeakCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * RELOAD as an operator uses it: the file is edited, Sluice reads it again, and the change
 * takes effect without dropping connected clients; a file that does not load changes nothing.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ReloadIT {
    private static final String SETTINGS = "auth_type = md5";

    private static Path ini(SluiceHarness h) {
        return h.socketDir().resolve("pgbouncer.ini");
    }

    /** Replaces {@code from} with {@code to} in the running harness's pgbouncer.ini. */
    private static void edit(SluiceHarness h, String from, String to) throws Exception {
        String text = Files.readString(ini(h));
        assertThat(text).contains(from);
        Files.writeString(ini(h), text.replace(from, to));
    }

    private static int serversOn(String application) throws SQLException {
        try (Connection d = TestPostgres.direct()) {
            return Integer.parseInt(scalar(d, "select count(*) from pg_stat_activity where usename = 'md5user'"
                    + " and application_name = '" + application + "'"));
        }
    }

    @Test
    void poolSizeAndModeChangeUnderPgbenchLoadWithNoFailedTransaction() throws Exception {
        TestPostgres.loadPgbench();
        String db = "bench = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=2 pool_mode=transaction";
        try (SluiceHarness h = SluiceHarness.start(db, SETTINGS, SluiceHarness.USERLIST)) {
            CompletableFuture<SluiceHarness.PsqlResult> bench = CompletableFuture.supplyAsync(() -> {
                try {
                    return SluiceHarness.run("pgbench", "-n", "-S", "-c", "20", "-j", "2", "-T", "6",
                            "postgresql://md5user:md5pass@127.0.0.1:" + h.port() + "/bench");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(1500);
            assertThat(serversOn("pgbench")).as("servers before").isEqualTo(2);
            edit(h, "pool_size=2 pool_mode=transaction", "pool_size=6 pool_mode=statement");
            assertThat(h.sluice().reload()).isNull();
            Thread.sleep(1500);
            assertThat(serversOn("pgbench")).as("servers after raising pool_size").isBetween(3, 6);
            edit(h, "pool_size=6 pool_mode=statement", "pool_size=1 pool_mode=transaction");
            assertThat(h.sluice().reload()).isNull();
            SluiceHarness.PsqlResult run = bench.get(60, TimeUnit.SECONDS);
            assertThat(run.exitCode()).as(run.output()).isZero();
            assertThat(run.output()).contains("number of failed transactions: 0 (0.000%)");
            assertThat(serversOn("pgbench")).as("servers once pool_size is 1 and the load is over")
                    .isLessThanOrEqualTo(1);
        }
    }

    @Test
    void aFileThatDoesNotLoadKeepsTheRunningConfigWhole() throws Exception {
        String db = "one = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=2";
        try (SluiceHarness h = SluiceHarness.start(db, SETTINGS, SluiceHarness.USERLIST);
                Connection c = h.connect("one", "md5user", "md5pass")) {
            String good = Files.readString(ini(h));
            Files.writeString(ini(h), good.replace("[databases]\n", "[databases]\nnew = host=127.0.0.1\n")
                    .replace("[pgbouncer]", "[pgbouncer]\npool_mode = sometimes"));
            String error = h.sluice().reload();
            assertThat(error).as("the reason, with file and line").contains("pgbouncer.ini:").contains("pool_mode");
            assertThat(scalar(c, "select 1")).isEqualTo("1");
            try (Connection again = h.connect("one", "md5user", "md5pass")) {
                assertThat(scalar(again, "select 2")).isEqualTo("2");
            }
            assertThat(h.sluice().config().settings().poolMode().toString()).isEqualToIgnoringCase("session");
        }
    }

    @Test
    void databasesAddedChangedAndRemoved() throws Exception {
        String dbs = "keep = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_mode=transaction\n"
                + "gone = host=127.0.0.1 port=${PG_PORT} dbname=postgres";
        try (SluiceHarness h = SluiceHarness.start(dbs, SETTINGS, SluiceHarness.USERLIST);
                Connection kept = h.connect("keep", "md5user", "md5pass");
                Connection inTx = h.connect("keep", "md5user", "md5pass");
                Connection doomed = h.connect("gone", "md5user", "md5pass")) {
            assertThat(scalar(kept, "select current_database()")).isEqualTo("postgres");
            assertThat(scalar(doomed, "select 1")).isEqualTo("1");
            inTx.setAutoCommit(false);
            assertThat(scalar(inTx, "select current_database()")).isEqualTo("postgres");
            try (Connection d = TestPostgres.direct()) {
                if (!"1".equals(scalarOrNull(d, "select 1 from pg_database where datname = 'reload_other'"))) {
                    d.createStatement().execute("create database reload_other");
                }
            }
            String text = Files.readString(ini(h));
            text = text.replace("gone = host=127.0.0.1 port=" + TestPostgres.port() + " dbname=postgres\n", "")
                    .replace("keep = host=127.0.0.1 port=" + TestPostgres.port() + " dbname=postgres",
                            "keep = host=127.0.0.1 port=" + TestPostgres.port() + " dbname=reload_other")
                    .replace("[databases]\n", "[databases]\nadded = host=127.0.0.1 port=" + TestPostgres.port()
                            + " dbname=postgres\n");
            Files.writeString(ini(h), text);
            assertThat(h.sluice().reload()).isNull();

            // A transaction open across the reload ends on the server it began on.
            assertThat(scalar(inTx, "select current_database()")).isEqualTo("postgres");
            inTx.commit();
            // Afterwards, servers are replaced as they come free: the new dbname.
            assertThat(scalar(kept, "select current_database()")).isEqualTo("reload_other");
            assertThat(scalar(inTx, "select current_database()")).isEqualTo("reload_other");
            try (Connection added = h.connect("added", "md5user", "md5pass")) {
                assertThat(scalar(added, "select 3")).isEqualTo("3");
            }
            SQLException e = assertThrows(SQLException.class, () -> scalar(doomed, "select 1"));
            assertThat(e.getMessage()).contains("database removed");
            SQLException refused = assertThrows(SQLException.class, () -> h.connect("gone", "md5user", "md5pass"));
            assertThat(refused.getMessage()).contains("no such database");
        }
    }

    private static String scalarOrNull(Connection c, String sql) throws SQLException {
        try (var rs = c.createStatement().executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
