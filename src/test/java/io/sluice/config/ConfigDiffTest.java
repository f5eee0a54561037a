package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What RELOAD sees when a user edits pgbouncer.ini between two loads. */
class ConfigDiffTest {
    @TempDir
    Path dir;

    private static final String MINIMAL = "[pgbouncer]\nauth_type = any\n";

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    /** Loads the file, rewrites it as a user editing it would, and loads it again. */
    private ConfigDiff reload(String before, String after) throws Exception {
        Config running = Config.load(write("pgbouncer.ini", before));
        Config loaded = Config.load(write("pgbouncer.ini", after));
        return ConfigDiff.between(running, loaded);
    }

    @Test
    void reloadKeepsTheRunningValuesOfSettingsOnlyARestartChanges() throws Exception {
        Config running = Config.load(write("pgbouncer.ini", MINIMAL + "listen_port = 6433\ndefault_pool_size = 5\n"));
        Config loaded = Config.reload(write("pgbouncer.ini",
                MINIMAL + "listen_port = 7000\ndefault_pool_size = 9\nunix_socket_dir = /elsewhere\n"), running);
        assertThat(loaded.settings().listenPort()).isEqualTo(6433);
        assertThat(loaded.settings().unixSocketDir()).isEqualTo("/tmp");
        assertThat(loaded.settings().defaultPoolSize()).as("reloadable: taken").isEqualTo(9);
        assertThat(loaded.warnings()).anySatisfy(w -> assertThat(w)
                .contains("\"listen_port\" cannot be changed by RELOAD").contains("keeping \"6433\"")
                .contains("pgbouncer.ini:3"));
        assertThat(loaded.warnings()).anySatisfy(w -> assertThat(w).contains("\"unix_socket_dir\""));
        ConfigDiff diff = ConfigDiff.between(running, loaded);
        assertThat(diff.nonReloadableChanges()).isEmpty();
        assertThat(diff.settingChanges()).extracting(ConfigDiff.SettingChange::key).containsExactly("default_pool_size");
    }

    @Test
    void unchangedFileIsAnEmptyDiff() throws Exception {
        String ini = MINIMAL + "listen_port = 6433\n[databases]\napp = host=db1 pool_size=5\n* = host=db2\n"
                + "[users]\nalice = pool_mode=transaction\n";
        ConfigDiff diff = reload(ini, ini);
        assertThat(diff.isEmpty()).isTrue();
        assertThat(diff.settingChanges()).isEmpty();
        assertThat(diff.databasesChanged()).isEmpty();
    }

    @Test
    void respellingTheSameValuesIsNoChange() throws Exception {
        ConfigDiff diff = reload(MINIMAL + """
                log_connections = 1
                server_lifetime = 3600
                unix_socket_mode = 0700
                pool_mode = session
                [databases]
                app = host=db1 reserve_pool=3
                sales = host=db1
                """, MINIMAL + """
                log_connections = on
                server_lifetime = 3600.0
                unix_socket_mode = 700
                pool_mode = Session
                listen_port = 6432
                [databases]
                app = host=db1 reserve_pool_size=3 port=5432
                sales = host=db1 dbname=sales
                """);
        assertThat(diff.isEmpty()).isTrue();
    }

    @Test
    void changedSettingCarriesOldAndNewValue() throws Exception {
        ConfigDiff diff = reload(MINIMAL + "default_pool_size = 20\nmax_client_conn = 500\n",
                MINIMAL + "default_pool_size = 30\n");
        assertThat(diff.settingChanges()).containsExactly(
                new ConfigDiff.SettingChange("default_pool_size", "20", "30", true),
                // Removing the line puts the default back, which is a change too.
                new ConfigDiff.SettingChange("max_client_conn", "500", "100", true));
        assertThat(diff.nonReloadableChanges()).isEmpty();
        assertThat(diff.isEmpty()).isFalse();
    }

    @Test
    void settingsThatNeedARestartAreFlagged() throws Exception {
        ConfigDiff diff = reload(MINIMAL + "listen_port = 6432\nunix_socket_dir = /tmp\n",
                MINIMAL + "listen_port = 6433\nunix_socket_dir = /run/sluice\npidfile = sluice.pid\n"
                        + "query_timeout = 30\n");
        assertThat(diff.nonReloadableChanges()).containsExactly(
                new ConfigDiff.SettingChange("listen_port", "6432", "6433", false),
                new ConfigDiff.SettingChange("pidfile", "", "sluice.pid", false),
                new ConfigDiff.SettingChange("unix_socket_dir", "/tmp", "/run/sluice", false));
        assertThat(diff.settingChanges()).extracting(ConfigDiff.SettingChange::key)
                .containsExactly("listen_port", "pidfile", "query_timeout", "unix_socket_dir");
    }

    @Test
    void reloadableFlagsArePgBouncers() {
        // PgBouncer 1.25.2 src/main.c: the CF_NO_RELOAD entries of bouncer_params.
        assertThat(Settings.knownKeys().stream().filter(k -> !Settings.reloadable(k)))
                .containsExactlyInAnyOrder("disable_pqexec", "job_name", "listen_addr", "listen_backlog",
                        "listen_port", "pidfile", "pkt_buf", "resolv_conf", "service_name", "so_reuseport",
                        "track_extra_parameters", "unix_socket_dir", "unix_socket_group",
                        "unix_socket_mode", "user");
    }

    @Test
    void databasesAddedAndRemoved() throws Exception {
        ConfigDiff diff = reload(MINIMAL + "[databases]\nold = host=db1\nkept = host=db1\n",
                MINIMAL + "[databases]\nkept = host=db1\nnew = host=db2 dbname=fresh\n");
        assertThat(diff.databasesAdded()).extracting(DatabaseConfig::name).containsExactly("new");
        assertThat(diff.databasesAdded().get(0).effectiveDbname()).isEqualTo("fresh");
        assertThat(diff.databasesRemoved()).extracting(DatabaseConfig::name).containsExactly("old");
        assertThat(diff.databasesChanged()).isEmpty();
        assertThat(diff.settingChanges()).isEmpty();
    }

    @Test
    void newHostReplacesServersButNewPoolSizeDoesNot() throws Exception {
        ConfigDiff diff = reload(MINIMAL + "[databases]\nmoved = host=db1 pool_size=5\nresized = host=db1 pool_size=5\n",
                MINIMAL + "[databases]\nmoved = host=db2 pool_size=5\nresized = host=db1 pool_size=50\n");
        assertThat(diff.databasesChanged()).hasSize(2);
        ConfigDiff.DatabaseChange moved = diff.databasesChanged().get(0);
        assertThat(moved.name()).isEqualTo("moved");
        assertThat(moved.changedKeys()).containsExactly("host");
        assertThat(moved.replacesServers()).isTrue();
        assertThat(moved.before().hosts()).containsExactly("db1");
        assertThat(moved.after().hosts()).containsExactly("db2");
        ConfigDiff.DatabaseChange resized = diff.databasesChanged().get(1);
        assertThat(resized.name()).isEqualTo("resized");
        assertThat(resized.changedKeys()).containsExactly("pool_size");
        assertThat(resized.replacesServers()).isFalse();
    }

    @Test
    void everyDatabaseKeyIsSeenAndClassified() throws Exception {
        // key -> {value before, value after, whether servers must be replaced}
        Map<String, List<Object>> cases = Map.ofEntries(
                Map.entry("host", List.of("db1", "db2", true)),
                Map.entry("port", List.of("5432", "5433", true)),
                Map.entry("load_balance_hosts", List.of("disable", "round-robin", true)),
                Map.entry("dbname", List.of("a", "b", true)),
                Map.entry("user", List.of("u1", "u2", true)),
                Map.entry("password", List.of("p1", "p2", true)),
                Map.entry("connect_query", List.of("'select 1'", "'select 2'", true)),
                Map.entry("application_name", List.of("a", "b", true)),
                Map.entry("client_encoding", List.of("UTF8", "LATIN1", true)),
                Map.entry("datestyle", List.of("ISO", "German", true)),
                Map.entry("timezone", List.of("UTC", "Europe/Paris", true)),
                Map.entry("pool_mode", List.of("session", "transaction", false)),
                Map.entry("pool_size", List.of("5", "6", false)),
                Map.entry("min_pool_size", List.of("1", "2", false)),
                Map.entry("reserve_pool_size", List.of("1", "2", false)),
                Map.entry("max_db_connections", List.of("10", "20", false)),
                Map.entry("max_db_client_connections", List.of("10", "20", false)),
                Map.entry("server_lifetime", List.of("60", "120", false)),
                Map.entry("auth_dbname", List.of("a", "b", false)),
                Map.entry("auth_query", List.of("'select 1'", "'select 2'", false)));
        for (Map.Entry<String, List<Object>> c : cases.entrySet()) {
            String key = c.getKey();
            ConfigDiff diff = reload(MINIMAL + "[databases]\napp = host=db1 " + key + "=" + c.getValue().get(0) + "\n",
                    MINIMAL + "[databases]\napp = host=db1 " + key + "=" + c.getValue().get(1) + "\n");
            assertThat(diff.databasesChanged()).as(key).hasSize(1);
            ConfigDiff.DatabaseChange change = diff.databasesChanged().get(0);
            // "host=db1 host=db2": the later host wins, so the host case changes host only.
            assertThat(change.changedKeys()).as(key).containsExactly(key);
            assertThat(change.replacesServers()).as(key).isEqualTo(c.getValue().get(2));
        }
    }

    @Test
    void aKeyDroppedFromAnEntryIsAChange() throws Exception {
        ConfigDiff diff = reload(MINIMAL + "[databases]\napp = host=db1 user=app password=secret\n",
                MINIMAL + "[databases]\napp = host=db1\n");
        ConfigDiff.DatabaseChange change = diff.databasesChanged().get(0);
        assertThat(change.changedKeys()).containsExactly("user", "password");
        assertThat(change.replacesServers()).isTrue();
    }

    @Test
    void fallbackAddedChangedAndRemoved() throws Exception {
        String none = MINIMAL + "[databases]\napp = host=db1\n";
        String fallback = MINIMAL + "[databases]\napp = host=db1\n* = host=db9\n";

        ConfigDiff added = reload(none, fallback);
        assertThat(added.databasesAdded()).extracting(DatabaseConfig::name).containsExactly("*");
        assertThat(added.databasesAdded().get(0).hosts()).containsExactly("db9");

        ConfigDiff removed = reload(fallback, none);
        assertThat(removed.databasesRemoved()).extracting(DatabaseConfig::name).containsExactly("*");
        assertThat(removed.databasesAdded()).isEmpty();

        ConfigDiff moved = reload(fallback, MINIMAL + "[databases]\napp = host=db1\n* = host=db10\n");
        assertThat(moved.databasesChanged()).extracting(ConfigDiff.DatabaseChange::name).containsExactly("*");
        assertThat(moved.databasesChanged().get(0).replacesServers()).isTrue();
    }

    @Test
    void usersAddedRemovedAndChanged() throws Exception {
        ConfigDiff diff = reload(MINIMAL + """
                [users]
                alice = pool_mode=transaction
                bob = max_user_connections=5
                carol = pool_size=3
                """, MINIMAL + """
                [users]
                alice = pool_mode=statement query_timeout=30
                carol = pool_size=3
                dave = reserve_pool_size=2
                """);
        assertThat(diff.usersAdded()).extracting(UserConfig::name).containsExactly("dave");
        assertThat(diff.usersRemoved()).extracting(UserConfig::name).containsExactly("bob");
        assertThat(diff.usersChanged()).hasSize(1);
        ConfigDiff.UserChange alice = diff.usersChanged().get(0);
        assertThat(alice.name()).isEqualTo("alice");
        assertThat(alice.changedKeys()).containsExactly("pool_mode", "query_timeout");
        assertThat(alice.before().poolMode()).isEqualTo(PoolMode.TRANSACTION);
        assertThat(alice.after().poolMode()).isEqualTo(PoolMode.STATEMENT);
        assertThat(diff.databasesChanged()).isEmpty();
    }

    @Test
    void changesInAnIncludedFileAreSeen() throws Exception {
        Path main = write("pgbouncer.ini", MINIMAL + "%include databases.ini\n");
        write("databases.ini", "[databases]\napp = host=db1\n");
        Config running = Config.load(main);
        write("databases.ini", "[databases]\napp = host=db2\nreports = host=db3\n"
                + "[pgbouncer]\nlisten_addr = 0.0.0.0\n");
        ConfigDiff diff = ConfigDiff.between(running, Config.load(main));

        assertThat(diff.databasesChanged()).extracting(ConfigDiff.DatabaseChange::name).containsExactly("app");
        assertThat(diff.databasesAdded()).extracting(DatabaseConfig::name).containsExactly("reports");
        assertThat(diff.nonReloadableChanges()).containsExactly(
                new ConfigDiff.SettingChange("listen_addr", "", "0.0.0.0", false));
    }

    @Test
    void aLoggedChangeNeverShowsThePassword() throws Exception {
        ConfigDiff diff = reload(MINIMAL + "[databases]\napp = host=db1 user=app password=hunter2\n",
                MINIMAL + "[databases]\napp = host=db1 user=app password=correct-horse\nnew = password=s3cret\n");
        String logged = diff.databasesChanged() + " " + diff.databasesAdded();
        assertThat(logged).contains("app", "password", "new")
                .doesNotContain("hunter2", "correct-horse", "s3cret");
    }
}
