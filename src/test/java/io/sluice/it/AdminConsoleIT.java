package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The admin console as operators and their tools use it, against a real PostgreSQL: every SHOW
 * through psql and pgjdbc with PgBouncer 1.25's columns and types, each control command
 * authorised on its own, PAUSE/RESUME with clients at work, KILL_CLIENT, RECONNECT under load,
 * SHUTDOWN WAIT_FOR_CLIENTS, and SHOW CLIENTS/SERVERS matching what the clients do.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AdminConsoleIT {
    private static final String USERS = SluiceHarness.USERLIST + "\"admin\" \"adminpass\"\n\"stats\" \"statspass\"\n";
    private static final String SETTINGS = "auth_type = md5\nadmin_users = admin\nstats_users = stats";
    private static final String DBS = "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=2"
            + " pool_mode=transaction\nsess = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_mode=session";

    /** PgBouncer 1.25.2's columns and PostgreSQL types, from its admin.c (see docs/admin.md). */
    private static final Map<String, String> COLUMNS = new LinkedHashMap<>();

    static {
        String conn = "type text, user text, database text, replication text, state text, addr text, port int4,"
                + " local_addr text, local_port int4, connect_time text, request_time text, wait int4, wait_us int4,"
                + " close_needed int4, ptr text, link text, remote_pid int4, tls text, application_name text,"
                + " prepared_statements int4, id int4";
        String sockets = conn + ", recv_pos int4, pkt_pos int4, pkt_remain int4, send_pos int4, send_remain int4,"
                + " pkt_avail int4, send_avail int4";
        COLUMNS.put("POOLS", "database text, user text, cl_active int4, cl_waiting int4, cl_active_cancel_req int4,"
                + " cl_waiting_cancel_req int4, sv_active int4, sv_active_cancel int4, sv_being_canceled int4,"
                + " sv_idle int4, sv_used int4, sv_tested int4, sv_login int4, maxwait int4, maxwait_us int4,"
                + " pool_mode text, load_balance_hosts text");
        COLUMNS.put("CLIENTS", conn);
        COLUMNS.put("SERVERS", conn);
        COLUMNS.put("SOCKETS", sockets);
        COLUMNS.put("ACTIVE_SOCKETS", sockets);
        COLUMNS.put("DATABASES", "name text, host text, port int4, database text, force_user text, pool_size int4,"
                + " min_pool_size int4, reserve_pool_size int4, server_lifetime int4, pool_mode text,"
                + " load_balance_hosts text, max_connections int4, current_connections int4,"
                + " max_client_connections int4, current_client_connections int4, paused int4, disabled int4");
        COLUMNS.put("USERS", "name text, pool_size text, reserve_pool_size text, pool_mode text,"
                + " max_user_connections int4, current_connections int4, max_user_client_connections int4,"
                + " current_client_connections int4");
        COLUMNS.put("CONFIG", "key text, value text, default text, changeable text");
        String stats = "server_assignment_count, xact_count, query_count, received, sent, xact_time, query_time,"
                + " wait_time, client_parse_count, server_parse_count, bind_count, client_login_count";
        COLUMNS.put("STATS", "database text, " + numeric("total_", stats) + ", "
                + numeric("avg_", stats.replace("received", "recv")));
        COLUMNS.put("STATS_TOTALS", "database text, " + numeric("", stats.replace("received", "bytes_received")
                .replace(" sent", " bytes_sent")));
        COLUMNS.put("STATS_AVERAGES", "database text, " + numeric("", stats.replace("received", "bytes_received")
                .replace(" sent", " bytes_sent").replace("client_parse_count", "avg_client_parse_count")
                .replace("server_parse_count", "avg_server_parse_count").replace("bind_count", "avg_bind_count")
                .replace("client_login_count", "avg_client_login_count")));
        COLUMNS.put("TOTALS", "name text, value numeric");
        COLUMNS.put("LISTS", "list text, items int4");
        COLUMNS.put("MEM", "name text, size int4, used int4, free int4, memtotal int4");
        COLUMNS.put("STATE", "key text, value text");
        COLUMNS.put("VERSION", "version text");
        COLUMNS.put("PEERS", "peer_id int4, host text, port int4, pool_size int4");
        COLUMNS.put("PEER_POOLS", "peer_id int4, cl_active_cancel_req int4, cl_waiting_cancel_req int4,"
                + " sv_active_cancel int4, sv_login int4");
        COLUMNS.put("DNS_HOSTS", "hostname text, ttl int8, addrs text");
        COLUMNS.put("DNS_ZONES", "zonename text, serial int8, count int4");
    }

    private static String numeric(String prefix, String names) {
        List<String> out = new ArrayList<>();
        for (String n : names.split(", ")) {
            out.add(prefix + n + " numeric");
        }
        return String.join(", ", out);
    }

    private static Connection console(SluiceHarness h, String user, String password) throws SQLException {
        Properties p = new Properties();
        // The console speaks the simple query protocol only, as PgBouncer's does.
        p.setProperty("preferQueryMode", "simple");
        return h.connect("pgbouncer", user, password, p);
    }

    private static String columns(ResultSetMetaData md) throws SQLException {
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            out.add(md.getColumnName(i) + " " + md.getColumnTypeName(i));
        }
        return String.join(", ", out);
    }

    /** Rows of a SHOW as column-name maps. */
    private static List<Map<String, String>> show(Connection c, String what) throws SQLException {
        List<Map<String, String>> rows = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SHOW " + what)) {
            ResultSetMetaData md = rs.getMetaData();
            while (rs.next()) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.put(md.getColumnName(i), rs.getString(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    private static Map<String, String> pool(Connection admin, String db) throws SQLException {
        return show(admin, "POOLS").stream().filter(r -> r.get("database").equals(db)).findFirst().orElseThrow();
    }

    @Test
    void everyShowHasPgBouncersColumnsAndTypesThroughPgjdbcAndPsql() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DBS, SETTINGS, USERS);
                Connection app = h.connect("tx", "md5user", "md5pass");
                Connection admin = console(h, "admin", "adminpass")) {
            assertThat(scalar(app, "select 1")).isEqualTo("1");
            for (Map.Entry<String, String> e : COLUMNS.entrySet()) {
                try (Statement st = admin.createStatement(); ResultSet rs = st.executeQuery("SHOW " + e.getKey())) {
                    assertThat(columns(rs.getMetaData())).as("SHOW " + e.getKey()).isEqualTo(e.getValue());
                }
                String[] names = e.getValue().replaceAll(" (text|int4|int8|numeric)", "").split(", ");
                SluiceHarness.PsqlResult r = SluiceHarness.psql("-X", "-A", "-F", "|", "-c", "show " + e.getKey()
                        .toLowerCase(), "postgresql://stats:statspass@127.0.0.1:" + h.port() + "/pgbouncer");
                assertThat(r.exitCode()).as(r.output()).isZero();
                assertThat(r.output().lines().findFirst().orElse("")).as("psql: SHOW " + e.getKey())
                        .isEqualTo(String.join("|", names));
            }
            assertThat(show(admin, "VERSION").get(0).get("version")).startsWith("PgBouncer 1.25.2");
            assertThat(show(admin, "STATE")).extracting(r -> r.get("key") + "=" + r.get("value"))
                    .containsExactly("active=yes", "paused=no", "suspended=no");
            assertThat(show(admin, "LISTS")).extracting(r -> r.get("list")).containsExactly("databases", "users",
                    "peers", "pools", "peer_pools", "free_clients", "used_clients", "login_clients", "free_servers",
                    "used_servers", "dns_names", "dns_zones", "dns_queries", "dns_pending");
            assertThat(show(admin, "DATABASES")).extracting(r -> r.get("name")).containsExactly("pgbouncer", "sess",
                    "tx");
            Map<String, String> tx = pool(admin, "tx");
            assertThat(tx.get("user")).isEqualTo("md5user");
            assertThat(tx.get("cl_active")).isEqualTo("1");
            assertThat(tx.get("sv_idle")).isEqualTo("1");
            assertThat(tx.get("pool_mode")).isEqualTo("transaction");
            Map<String, String> stats = show(admin, "STATS").stream()
                    .filter(r -> r.get("database").equals("tx")).findFirst().orElseThrow();
            assertThat(Long.parseLong(stats.get("total_xact_count"))).isGreaterThanOrEqualTo(1);
            assertThat(Long.parseLong(stats.get("total_received"))).isPositive();
            assertThat(Long.parseLong(stats.get("total_sent"))).isPositive();
            // SHOW HELP is a NOTICE, and SELECT x is SHOW x.
            SluiceHarness.PsqlResult help = SluiceHarness.psql("-X", "-c", "SHOW HELP",
                    "postgresql://admin:adminpass@127.0.0.1:" + h.port() + "/pgbouncer");
            assertThat(help.output()).contains("NOTICE:  Console usage").contains("SHOW HELP|CONFIG|DATABASES");
            assertThat(scalar(admin, "SELECT VERSION")).startsWith("PgBouncer");
        }
    }

    @Test
    void errorsKeepTheSessionAndTheExtendedProtocolIsRefused() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DBS, SETTINGS, USERS);
                Connection admin = console(h, "admin", "adminpass")) {
            SQLException bad = assertThrows(SQLException.class, () -> show(admin, "NOTHING"));
            assertThat(bad.getMessage()).contains("invalid command 'SHOW NOTHING', use SHOW HELP;");
            assertThat(bad.getSQLState()).isEqualTo("08P01");
            SQLException two = assertThrows(SQLException.class, () -> scalar(admin, "SHOW POOLS; SHOW STATS"));
            assertThat(two.getMessage()).contains("invalid command");
            assertThat(show(admin, "STATE")).hasSize(3);
            SQLException paused = assertThrows(SQLException.class, () -> scalar(admin, "PAUSE nosuch"));
            assertThat(paused.getMessage()).contains("no such database: nosuch");
            Properties p = new Properties();
            p.setProperty("preferQueryMode", "extended");
            try (Connection extended = h.connect("pgbouncer", "admin", "adminpass", p)) {
                SQLException e = assertThrows(SQLException.class, () -> show(extended, "POOLS"));
                assertThat(e.getMessage()).contains("extended query protocol not supported by admin console");
            }
            SQLException notAllowed = assertThrows(SQLException.class,
                    () -> console(h, "md5user", "md5pass"));
            assertThat(notAllowed.getMessage()).contains("not allowed");
        }
    }

    @Test
    void aStatsUserMayShowAndNothingElse() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DBS, SETTINGS, USERS);
                Connection stats = console(h, "stats", "statspass")) {
            assertThat(show(stats, "POOLS")).isNotEmpty();
            assertThat(show(stats, "CLIENTS")).isNotEmpty();
            for (String cmd : List.of("PAUSE", "PAUSE tx", "RESUME", "DISABLE tx", "ENABLE tx", "RECONNECT", "KILL tx",
                    "KILL_CLIENT 1", "SHUTDOWN", "SHUTDOWN WAIT_FOR_CLIENTS", "RELOAD", "WAIT_CLOSE", "SUSPEND",
                    "SET default_pool_size = 9", "SHOW FDS")) {
                SQLException e = assertThrows(SQLException.class, () -> scalar(stats, cmd), cmd);
                assertThat(e.getMessage()).as(cmd).contains("admin access needed");
            }
            assertThat(h.sluice().config().settings().defaultPoolSize()).isNotEqualTo(9);
            assertThat(show(stats, "STATE").get(0).get("value")).as("still active after all that").isEqualTo("yes");
        }
    }

    @Test
    void pauseWaitsForTheOpenTransactionQueuesNewQueriesAndResumeServesThem() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DBS, SETTINGS, USERS);
                Connection inTx = h.connect("tx", "md5user", "md5pass");
                Connection later = h.connect("tx", "md5user", "md5pass");
                Connection admin = console(h, "admin", "adminpass");
                Connection admin2 = console(h, "admin", "adminpass")) {
            inTx.setAutoCommit(false);
            assertThat(scalar(inTx, "select 1")).isEqualTo("1");
            CompletableFuture<String> pause = CompletableFuture.supplyAsync(() -> {
                try (Statement st = admin.createStatement()) {
                    st.execute("PAUSE tx");
                    return "done";
                } catch (SQLException e) {
                    return e.getMessage();
                }
            });
            Thread.sleep(500);
            assertThat(pause).as("PAUSE waits for the open transaction").isNotDone();
            assertThat(scalar(inTx, "select 2")).as("the transaction goes on").isEqualTo("2");
            inTx.commit();
            assertThat(pause.get(10, TimeUnit.SECONDS)).isEqualTo("done");
            assertThat(show(admin2, "DATABASES").stream().filter(r -> r.get("name").equals("tx")).findFirst()
                    .orElseThrow().get("paused")).isEqualTo("1");
            CompletableFuture<String> queued = CompletableFuture.supplyAsync(() -> {
                try {
                    return scalar(later, "select 3");
                } catch (SQLException e) {
                    return e.getMessage();
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!pool(admin2, "tx").get("cl_waiting").equals("1") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(pool(admin2, "tx").get("cl_waiting")).as("the query waits during the pause").isEqualTo("1");
            assertThat(pool(admin2, "tx").get("sv_idle")).as("no server while paused").isEqualTo("0");
            assertThat(queued).isNotDone();
            try (Statement st = admin2.createStatement()) {
                st.execute("RESUME tx");
            }
            assertThat(queued.get(10, TimeUnit.SECONDS)).isEqualTo("3");
            SQLException again = assertThrows(SQLException.class, () -> scalar(admin2, "RESUME tx"));
            assertThat(again.getMessage()).contains("database tx is not paused");
        }
    }

    @Test
    void showClientsAndServersMatchWhatTheClientsDoAndKillClientEndsOne() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DBS, SETTINGS, USERS);
                Connection inTx = h.connect("tx", "md5user", "md5pass");
                Connection idle = h.connect("tx", "md5user", "md5pass");
                Connection waiting = h.connect("tx", "md5user", "md5pass");
                Connection third = h.connect("tx", "md5user", "md5pass");
                Connection admin = console(h, "admin", "adminpass")) {
            inTx.setAutoCommit(false);
            third.setAutoCommit(false);
            scalar(inTx, "select 1");
            scalar(third, "select 1");
            // pool_size 2, both servers held by open transactions: the next query waits.
            CompletableFuture<String> waits = CompletableFuture.supplyAsync(() -> {
                try {
                    return scalar(waiting, "select 'served'");
                } catch (SQLException e) {
                    return e.getMessage();
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!pool(admin, "tx").get("cl_waiting").equals("1") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            List<Map<String, String>> clients = show(admin, "CLIENTS");
            List<Map<String, String>> tx = clients.stream().filter(r -> r.get("database").equals("tx")).toList();
            assertThat(tx).extracting(r -> r.get("state")).containsExactlyInAnyOrder("active", "active", "waiting",
                    "idle");
            assertThat(clients).anySatisfy(r -> assertThat(r.get("database")).isEqualTo("pgbouncer"));
            List<Map<String, String>> servers = show(admin, "SERVERS");
            assertThat(servers).extracting(r -> r.get("state")).containsExactly("active", "active");
            for (Map<String, String> s : servers) {
                assertThat(s.get("remote_pid")).isNotEqualTo("0");
                assertThat(tx).anySatisfy(c -> assertThat(c.get("ptr")).isEqualTo(s.get("link")));
            }
            Map<String, String> waiter = tx.stream().filter(r -> r.get("state").equals("waiting")).findFirst()
                    .orElseThrow();
            try (Statement st = admin.createStatement()) {
                st.execute("KILL_CLIENT " + waiter.get("id"));
            }
            assertThat(waits.get(10, TimeUnit.SECONDS)).contains("admin forced disconnect");
            SQLException none = assertThrows(SQLException.class, () -> scalar(admin, "KILL_CLIENT 999999"));
            assertThat(none.getMessage()).contains("client not found");
            inTx.commit();
            third.commit();
            assertThat(scalar(idle, "select 'still here'")).isEqualTo("still here");
        }
    }

    @Test
    void reconnectUnderLoadLosesNoTransaction() throws Exception {
        TestPostgres.loadPgbench();
        try (SluiceHarness h = SluiceHarness.start(DBS, SETTINGS, USERS);
                Connection admin = console(h, "admin", "adminpass")) {
            CompletableFuture<SluiceHarness.PsqlResult> bench = CompletableFuture.supplyAsync(() -> {
                try {
                    return SluiceHarness.run("pgbench", "-n", "-S", "-c", "10", "-j", "2", "-T", "4",
                            "postgresql://md5user:md5pass@127.0.0.1:" + h.port() + "/tx");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Thread.sleep(1000);
            List<String> pidsBefore = show(admin, "SERVERS").stream().map(r -> r.get("remote_pid")).toList();
            try (Statement st = admin.createStatement()) {
                st.execute("RECONNECT tx");
                st.execute("WAIT_CLOSE tx");
            }
            List<String> pidsAfter = show(admin, "SERVERS").stream().map(r -> r.get("remote_pid")).toList();
            assertThat(pidsAfter).as("every server replaced").doesNotContainAnyElementsOf(pidsBefore);
            SluiceHarness.PsqlResult run = bench.get(60, TimeUnit.SECONDS);
            assertThat(run.exitCode()).as(run.output()).isZero();
            assertThat(run.output()).contains("number of failed transactions: 0 (0.000%)");
        }
    }

    @Test
    void shutdownWaitForClientsLetsAnOpenTransactionFinish() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DBS, SETTINGS, USERS)) {
            AtomicBoolean exited = new AtomicBoolean();
            h.sluice().onExit(() -> exited.set(true));
            try (Connection inTx = h.connect("sess", "md5user", "md5pass");
                    Connection admin = console(h, "admin", "adminpass")) {
                inTx.setAutoCommit(false);
                scalar(inTx, "select 1");
                try (Statement st = admin.createStatement()) {
                    st.execute("SHUTDOWN WAIT_FOR_CLIENTS");
                }
                assertThrows(SQLException.class, () -> h.connect("tx", "md5user", "md5pass"),
                        "no new TCP connections while shutting down");
                assertThat(scalar(inTx, "select 2")).isEqualTo("2");
                inTx.commit();
                Thread.sleep(700);
                assertThat(exited).as("clients are still connected").isFalse();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!exited.get() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(exited).as("exits once the last client is gone").isTrue();
        }
    }
}
