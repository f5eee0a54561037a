package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading whole pgbouncer.ini files as a user would write them. */
class ConfigTest {
    @TempDir
    Path dir;

    private static final String MINIMAL = "[pgbouncer]\nauth_type = any\n";

    private Path write(String name, String content) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, content);
        return p;
    }

    private Config load(String content) throws Exception {
        return Config.load(write("pgbouncer.ini", content));
    }

    private ConfigException failure(String content) throws IOException {
        Path p = write("pgbouncer.ini", content);
        try {
            Config.load(p);
        } catch (ConfigException e) {
            return e;
        }
        throw new AssertionError("expected a ConfigException for:\n" + content);
    }

    @Test
    void realisticFileParses() throws Exception {
        write("userlist.txt", "\"app\" \"secret\"\n");
        Config c = load("""
                ;; a typical production file
                [databases]
                appdb = host=10.0.0.5 port=5433 dbname=app_prod pool_size=40 reserve_pool=5
                reports = host=replica1,replica2 dbname=app_prod user=reporter password='s3cr''et' pool_mode=statement
                legacy = host=/var/run/postgresql connect_query='SET search_path = legacy, public' timezone=UTC datestyle=ISO client_encoding=UTF8 application_name=legacy
                * = host=10.0.0.9

                [users]
                app = pool_mode=transaction max_user_connections=50 pool_size=10 reserve_pool_size=2 query_timeout=30

                [pgbouncer]
                logfile = /var/log/pgbouncer/pgbouncer.log
                pidfile = /var/run/pgbouncer/pgbouncer.pid
                listen_addr = 127.0.0.1, ::1
                listen_port = 6433
                unix_socket_dir =
                unix_socket_mode = 0700
                auth_type = scram-sha-256
                auth_file = userlist.txt
                admin_users = postgres, admin
                stats_users = stats
                pool_mode = transaction
                server_reset_query = DISCARD ALL
                ignore_startup_parameters = extra_float_digits, Search_Path
                max_client_conn = 1000
                default_pool_size = 25
                reserve_pool_timeout = 2.5
                server_connect_timeout = 0.5
                max_prepared_statements = 100
                application_name_add_host = yes
                """);
        Settings s = c.settings();
        assertThat(s.listenAddr()).containsExactly("127.0.0.1", "::1");
        assertThat(s.listenPort()).isEqualTo(6433);
        assertThat(s.unixSocketDir()).isEmpty();
        assertThat(s.unixSocketMode()).isEqualTo(0700);
        assertThat(s.authType()).isEqualTo(AuthType.SCRAM_SHA_256);
        assertThat(s.authFile()).isEqualTo(dir.toAbsolutePath().resolve("userlist.txt"));
        assertThat(s.adminUsers()).containsExactly("postgres", "admin");
        assertThat(s.statsUsers()).containsExactly("stats");
        assertThat(s.poolMode()).isEqualTo(PoolMode.TRANSACTION);
        assertThat(s.ignoreStartupParameters()).containsExactlyInAnyOrder("extra_float_digits", "search_path");
        assertThat(s.maxClientConn()).isEqualTo(1000);
        assertThat(s.defaultPoolSize()).isEqualTo(25);
        assertThat(s.reservePoolTimeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(s.serverConnectTimeout()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.maxPreparedStatements()).isEqualTo(100);
        assertThat(s.applicationNameAddHost()).isTrue();
        assertThat(s.logfile()).isEqualTo(Path.of("/var/log/pgbouncer/pgbouncer.log"));
        assertThat(s.value("server_reset_query")).isEqualTo("DISCARD ALL");

        assertThat(c.databases()).containsOnlyKeys("appdb", "reports", "legacy");
        assertThat(c.databases().keySet()).containsExactly("appdb", "reports", "legacy");
        DatabaseConfig app = c.databases().get("appdb");
        assertThat(app.hosts()).containsExactly("10.0.0.5");
        assertThat(app.port()).isEqualTo(5433);
        assertThat(app.effectiveDbname()).isEqualTo("app_prod");
        assertThat(app.poolSize()).isEqualTo(40);
        assertThat(app.reservePoolSize()).isEqualTo(5);
        assertThat(app.minPoolSize()).isNull();
        assertThat(app.poolMode()).isNull();
        DatabaseConfig reports = c.databases().get("reports");
        assertThat(reports.hosts()).containsExactly("replica1", "replica2");
        assertThat(reports.user()).isEqualTo("reporter");
        assertThat(reports.password()).isEqualTo("s3cr'et");
        assertThat(reports.poolMode()).isEqualTo(PoolMode.STATEMENT);
        DatabaseConfig legacy = c.databases().get("legacy");
        assertThat(legacy.hosts()).containsExactly("/var/run/postgresql");
        assertThat(legacy.port()).isEqualTo(5432);
        assertThat(legacy.effectiveDbname()).isEqualTo("legacy");
        assertThat(legacy.connectQuery()).isEqualTo("SET search_path = legacy, public");
        assertThat(legacy.timeZone()).isEqualTo("UTC");
        assertThat(legacy.dateStyle()).isEqualTo("ISO");
        assertThat(legacy.clientEncoding()).isEqualTo("UTF8");
        assertThat(legacy.applicationName()).isEqualTo("legacy");

        UserConfig user = c.user("app").orElseThrow();
        assertThat(user.poolMode()).isEqualTo(PoolMode.TRANSACTION);
        assertThat(user.maxUserConnections()).isEqualTo(50);
        assertThat(user.poolSize()).isEqualTo(10);
        assertThat(user.reservePoolSize()).isEqualTo(2);
        assertThat(user.raw()).containsEntry("query_timeout", "30");
        assertThat(c.user("nobody")).isEmpty();

        assertThat(c.warnings()).as("every setting of this file is one Sluice uses").isEmpty();
    }

    @Test
    void fallbackEntryServesUnlistedDatabases() throws Exception {
        Config c = load("[databases]\nfoo = host=a\n* = host=b port=6000\n" + MINIMAL);
        assertThat(c.databases()).containsOnlyKeys("foo");
        assertThat(c.fallbackDatabase()).isPresent();
        DatabaseConfig bar = c.database("bar").orElseThrow();
        assertThat(bar.name()).isEqualTo("bar");
        assertThat(bar.dbname()).isEqualTo("bar");
        assertThat(bar.hosts()).containsExactly("b");
        assertThat(bar.port()).isEqualTo(6000);
        assertThat(c.database("foo").orElseThrow().hosts()).containsExactly("a");
        assertThat(c.database("pgbouncer")).isEmpty();
    }

    @Test
    void noFallbackMeansUnknownDatabase() throws Exception {
        Config c = load("[databases]\nfoo = host=a\n" + MINIMAL);
        assertThat(c.fallbackDatabase()).isEmpty();
        assertThat(c.database("bar")).isEmpty();
    }

    @Test
    void databaseNamesAreCaseSensitive() throws Exception {
        Config c = load("[databases]\nFoo = host=a\nfoo = host=b\n" + MINIMAL);
        assertThat(c.database("Foo").orElseThrow().hosts()).containsExactly("a");
        assertThat(c.database("foo").orElseThrow().hosts()).containsExactly("b");
    }

    @Test
    void quotedConnectionStringValues() throws Exception {
        Config c = load("[databases]\n"
                + "a = password='it''s' connect_query='select \\'x\\'' application_name='two words' dbname=plain\n"
                + "b =\n"
                + MINIMAL);
        DatabaseConfig a = c.databases().get("a");
        assertThat(a.password()).isEqualTo("it's");
        assertThat(a.connectQuery()).isEqualTo("select 'x'");
        assertThat(a.applicationName()).isEqualTo("two words");
        assertThat(a.dbname()).isEqualTo("plain");
        assertThat(a.raw()).containsKeys("password", "connect_query", "application_name", "dbname");
        DatabaseConfig b = c.databases().get("b");
        assertThat(b.hosts()).isEmpty();
        assertThat(b.port()).isEqualTo(5432);
    }

    @Test
    void rawOnlyDatabaseKeysAreAccepted() throws Exception {
        Config c = load("[databases]\n"
                + "a = max_db_client_connections=7"
                + " server_lifetime=60 load_balance_hosts=round-robin reserve_pool_size=3\n"
                + MINIMAL);
        DatabaseConfig a = c.databases().get("a");
        assertThat(a.raw()).containsEntry("max_db_client_connections", "7")
                .containsEntry("load_balance_hosts", "round-robin");
        assertThat(a.reservePoolSize()).isEqualTo(3);
    }

    @Test
    void laterKeyWins() throws Exception {
        Config c = load(MINIMAL + "listen_port = 7000\nlisten_port = 7001\n"
                + "[databases]\nfoo = host=a\nfoo = host=b\n");
        assertThat(c.settings().listenPort()).isEqualTo(7001);
        assertThat(c.settings().explicitValues()).containsEntry("listen_port", "7001");
        assertThat(c.databases().get("foo").hosts()).containsExactly("b");
    }

    @Test
    void commentsAndBlankLinesAreIgnored() throws Exception {
        Config c = load("; comment\n# comment\n\n  [pgbouncer]  \n  auth_type = any  \n"
                + "server_reset_query = SELECT 1; SELECT 2\n");
        assertThat(c.settings().serverResetQuery()).isEqualTo("SELECT 1; SELECT 2");
    }

    @Test
    void includeIsRelativeToIncludingFile() throws Exception {
        Files.createDirectories(dir.resolve("conf.d"));
        write("conf.d/dbs.ini", "[databases]\nincluded = host=x\n%include more.ini\n");
        write("conf.d/more.ini", "also = host=y\n");
        Config c = load(MINIMAL + "listen_port = 7000\n%include conf.d/dbs.ini\n[pgbouncer]\nlisten_port = 7002\n");
        assertThat(c.databases()).containsOnlyKeys("included", "also");
        assertThat(c.settings().listenPort()).isEqualTo(7002);
    }

    @Test
    void includeLoopFails() throws Exception {
        write("a.ini", "%include b.ini\n");
        write("b.ini", "[databases]\n%include a.ini\n");
        ConfigException e = failure(MINIMAL + "%include a.ini\n");
        assertThat(e.getMessage()).startsWith(dir.resolve("b.ini") + ":2: %include: include loop");
    }

    @Test
    void selfIncludeFails() throws Exception {
        ConfigException e = failure(MINIMAL + "%include pgbouncer.ini\n");
        assertThat(e.getMessage()).contains("pgbouncer.ini:3: %include: include loop");
    }

    @Test
    void missingIncludeNamesIncludingFileAndLine() throws Exception {
        ConfigException e = failure(MINIMAL + "%include nowhere.ini\n");
        assertThat(e.file()).isEqualTo(dir.resolve("pgbouncer.ini"));
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).startsWith(dir.resolve("pgbouncer.ini") + ":3: %include: file not found");
    }

    @Test
    void missingMainFile() {
        Path p = dir.resolve("absent.ini");
        assertThatThrownBy(() -> Config.load(p)).isInstanceOf(ConfigException.class)
                .hasMessage(p + ": config file not found");
    }

    @Test
    void badIntegerNamesFileLineAndKey() throws Exception {
        ConfigException e = failure(MINIMAL + "listen_port = abc\n");
        assertThat(e.getMessage()).isEqualTo(dir.resolve("pgbouncer.ini") + ":3: listen_port: invalid integer \"abc\"");
        assertThat(e.key()).isEqualTo("listen_port");
    }

    @Test
    void outOfRangeValues() throws Exception {
        assertThat(failure(MINIMAL + "listen_port = 0\n").getMessage())
                .endsWith(":3: listen_port: 0 is out of range 1..65535");
        assertThat(failure(MINIMAL + "listen_port = 70000\n").getMessage())
                .endsWith(":3: listen_port: 70000 is out of range 1..65535");
        assertThat(failure(MINIMAL + "default_pool_size = -1\n").getMessage())
                .endsWith(":3: default_pool_size: -1 is out of range 0..2147483647");
        assertThat(failure(MINIMAL + "unix_socket_mode = 0999\n").getMessage())
                .endsWith(":3: unix_socket_mode: invalid octal file mode \"0999\"");
    }

    @Test
    void badTimes() throws Exception {
        assertThat(failure(MINIMAL + "server_idle_timeout = 5s\n").getMessage())
                .contains(":3: server_idle_timeout: invalid time \"5s\"");
        assertThat(failure(MINIMAL + "query_timeout = -1\n").getMessage())
                .contains(":3: query_timeout: invalid time \"-1\"");
    }

    @Test
    void unknownSettingFails() throws Exception {
        ConfigException e = failure(MINIMAL + "\nlisten_prot = 6432\n");
        assertThat(e.getMessage()).isEqualTo(dir.resolve("pgbouncer.ini") + ":4: listen_prot: unknown setting");
    }

    @Test
    void settingNamesAreCaseSensitiveLikePgBouncer() throws Exception {
        assertThat(failure(MINIMAL + "Listen_Port = 6432\n").getMessage())
                .endsWith(":3: Listen_Port: unknown setting");
    }

    @Test
    void unknownDatabaseParameterFails() throws Exception {
        ConfigException e = failure("[databases]\nfoo = host=a colour=blue\n" + MINIMAL);
        assertThat(e.getMessage()).isEqualTo(
                dir.resolve("pgbouncer.ini") + ":2: foo: unrecognized connection parameter: colour");
    }

    @Test
    void badDatabaseValuesFail() throws Exception {
        assertThat(failure("[databases]\nfoo = port=x\n" + MINIMAL).getMessage())
                .endsWith(":2: foo: port: invalid integer \"x\"");
        assertThat(failure("[databases]\nfoo = pool_mode=bogus\n" + MINIMAL).getMessage())
                .contains(":2: foo: invalid pool_mode \"bogus\"");
        assertThat(failure("[databases]\nfoo = password='open\n" + MINIMAL).getMessage())
                .endsWith(":2: foo: unterminated quoted value for password");
        assertThat(failure("[databases]\nfoo = host\n" + MINIMAL).getMessage())
                .contains(":2: foo: syntax error in connection string");
    }

    @Test
    void reservedAdminDatabaseName() throws Exception {
        assertThat(failure("[databases]\npgbouncer = host=a\n" + MINIMAL).getMessage())
                .endsWith(":2: pgbouncer: database name \"pgbouncer\" is reserved for the admin console");
    }

    @Test
    void unknownUserParameterFails() throws Exception {
        assertThat(failure("[users]\nbob = pool_sise=3\n" + MINIMAL).getMessage())
                .endsWith(":2: bob: unrecognized user parameter: pool_sise");
    }

    @Test
    void badBooleanNamesFileLineAndKey() throws Exception {
        ConfigException e = failure(MINIMAL + "server_reset_query_always = maybe\n");
        assertThat(e.getMessage()).startsWith(
                dir.resolve("pgbouncer.ini") + ":3: server_reset_query_always: invalid boolean \"maybe\"");
    }

    @Test
    void booleanSpellings() throws Exception {
        for (String t : List.of("1", "yes", "on", "true", "TRUE")) {
            assertThat(load(MINIMAL + "server_reset_query_always = " + t + "\n").settings()
                    .serverResetQueryAlways()).as(t).isTrue();
        }
        for (String f : List.of("0", "no", "off", "false")) {
            assertThat(load(MINIMAL + "server_reset_query_always = " + f + "\n").settings()
                    .serverResetQueryAlways()).as(f).isFalse();
        }
    }

    @Test
    void badPoolModeNamesFileLineAndKey() throws Exception {
        ConfigException e = failure(MINIMAL + "pool_mode = sessions\n");
        assertThat(e.getMessage()).startsWith(
                dir.resolve("pgbouncer.ini") + ":3: pool_mode: invalid pool_mode \"sessions\"");
        assertThat(load(MINIMAL + "pool_mode = Statement\n").settings().poolMode()).isEqualTo(PoolMode.STATEMENT);
    }

    @Test
    void unknownSectionFails() throws Exception {
        assertThat(failure(MINIMAL + "[pgbouncr]\n").getMessage()).contains(":3: [pgbouncr]: unknown section");
    }

    @Test
    void syntaxErrors() throws Exception {
        assertThat(failure(MINIMAL + "just words\n").getMessage()).contains(":3: syntax error");
        assertThat(failure(MINIMAL + "[pgbouncer\n").getMessage()).contains(":3: syntax error");
        assertThat(failure("listen_port = 1\n" + MINIMAL).getMessage())
                .endsWith(":1: listen_port: setting outside of any [section]");
    }

    @Test
    void pgbouncerSectionIsRequired() throws Exception {
        assertThat(failure("[databases]\nfoo = host=a\n").getMessage())
                .isEqualTo(dir.resolve("pgbouncer.ini") + ": [pgbouncer] section missing");
    }

    @Test
    void oneWarningPerUnimplementedKey() throws Exception {
        Config c = load(MINIMAL + "dns_max_ttl = 1\nlisten_port = 6000\ndns_max_ttl = 2\ndns_nxdomain_ttl = 3\n");
        Path p = dir.resolve("pgbouncer.ini");
        assertThat(c.warnings()).containsExactly(
                "setting \"dns_max_ttl\" is accepted but not yet used by Sluice (" + p + ":5)",
                "setting \"dns_nxdomain_ttl\" is accepted but not yet used by Sluice (" + p + ":6)");
        assertThat(c.settings().value("dns_max_ttl")).isEqualTo("2");
    }

    @Test
    void authUserLetsPasswordAuthGoWithoutAnAuthFile() throws Exception {
        Config global = load("[pgbouncer]\nauth_type = scram-sha-256\nauth_user = pgb\n");
        assertThat(global.settings().value("auth_user")).isEqualTo("pgb");
        Config perDb = load("[databases]\na = host=x auth_user=pgb auth_query='select 1' auth_dbname=postgres\n"
                + "[pgbouncer]\nauth_type = md5\n");
        assertThat(perDb.databases().get("a").authUser()).isEqualTo("pgb");
        assertThat(perDb.databases().get("a").authQuery()).isEqualTo("select 1");
        assertThat(perDb.databases().get("a").authDbname()).isEqualTo("postgres");
        assertThat(perDb.warnings()).noneMatch(w -> w.contains("auth_"));
        // An empty auth_user is none: a password method still needs an auth_file.
        assertThat(failure("[pgbouncer]\nauth_type = md5\nauth_user =\n").getMessage())
                .endsWith("auth_file (or auth_user, for auth_query) is required for auth_type md5");
    }

    @Test
    void trackedParameterNamesMustBeNamesForTheyGoIntoSetStatements() throws Exception {
        assertThat(failure(MINIMAL + "track_extra_parameters = search_path, x;drop table t\n").getMessage())
                .endsWith(":3: track_extra_parameters: invalid parameter name \"x;drop table t\""
                        + " (letters, digits, '_' and '.' only)");
        assertThat(load(MINIMAL + "track_extra_parameters = search_path, IntervalStyle, my.setting\n")
                .settings().trackExtraParameters()).containsExactly("search_path", "IntervalStyle", "my.setting");
    }

    @Test
    void unimplementedKeysAreStillChecked() throws Exception {
        assertThat(failure(MINIMAL + "server_tls_sslmode = sometimes\n").getMessage())
                .contains(":3: server_tls_sslmode: invalid sslmode \"sometimes\"");
    }

    @Test
    void peersAreAcceptedWithOneWarning() throws Exception {
        Config c = load(MINIMAL + "[peers]\n1 = host=a\n2 = host=b\n");
        assertThat(c.peers()).containsOnlyKeys("1", "2");
        assertThat(c.warnings()).containsExactly("section [peers] is accepted but not yet used by Sluice ("
                + dir.resolve("pgbouncer.ini") + ":3)");
    }

    @Test
    void unsupportedAuthTypesAreRejected() throws Exception {
        for (String t : List.of("pam", "ldap")) {
            assertThat(failure("[pgbouncer]\nauth_type = " + t + "\nauth_file = u.txt\n").getMessage())
                    .isEqualTo(dir.resolve("pgbouncer.ini") + ":2: auth_type: auth_type " + t
                            + " is not supported by Sluice yet");
        }
    }

    @Test
    void authFileRequiredForPasswordAuth() throws Exception {
        assertThat(failure("[pgbouncer]\nauth_type = md5\n").getMessage())
                .isEqualTo(dir.resolve("pgbouncer.ini") + ":2: auth_type: auth_file (or auth_user, for auth_query) is required for auth_type md5");
        assertThat(failure("[pgbouncer]\nlisten_port = 6432\n").getMessage())
                .isEqualTo(dir.resolve("pgbouncer.ini") + ": auth_file (or auth_user, for auth_query) is required for auth_type md5"
                        + " (auth_type defaults to md5)");
        assertThat(load("[pgbouncer]\nauth_file = /etc/x.txt\n").settings().authFile())
                .isEqualTo(Path.of("/etc/x.txt"));
    }

    @Test
    void collectionsAreUnmodifiable() throws Exception {
        Config c = load("[databases]\nfoo = host=a\n" + MINIMAL);
        assertThatThrownBy(() -> c.databases().clear()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> c.databases().get("foo").raw().clear())
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> c.settings().explicitValues().clear())
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> c.warnings().clear()).isInstanceOf(UnsupportedOperationException.class);
    }
}
