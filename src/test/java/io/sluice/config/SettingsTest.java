package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The [pgbouncer] defaults and the value formats, checked against PgBouncer's. */
class SettingsTest {

    private static Settings defaults() throws ConfigException {
        return new Settings(Map.of(), Path.of("/etc/sluice"));
    }

    @Test
    void everyKeyOfTheReferenceTableIsKnownWithPgBouncersDefault() throws IOException, ConfigException {
        // A copy of shared/reference/pgbouncer-settings.tsv: PgBouncer 1.25's settings and defaults.
        List<String> lines;
        try (var in = SettingsTest.class.getResourceAsStream("/pgbouncer-settings.tsv")) {
            lines = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines().toList();
        }
        Map<String, String> expected = new LinkedHashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t");
            String def = switch (f[1]) {
                case "NULL" -> "";
                case "SCRAM_DEFAULT_ITERATIONS" -> "4096";
                case "DEFAULT_TCP_DEFER_ACCEPT" -> "0";
                case "DEFAULT_UNIX_SOCKET_DIR" -> "/tmp";
                case "\"<empty>\"" -> "select 1";
                default -> f[1].substring(1, f[1].length() - 1);
            };
            expected.put(f[0], def);
            assertThat(Settings.reloadable(f[0])).as(f[0]).isEqualTo(f[2].equals("reload"));
        }
        assertThat(Settings.knownKeys()).containsAll(Settings.SLUICE_ONLY);
        assertThat(Settings.knownKeys().stream().filter(k -> !Settings.SLUICE_ONLY.contains(k)))
                .containsExactlyInAnyOrderElementsOf(expected.keySet());
        Settings s = defaults();
        expected.forEach((k, v) -> {
            if (!k.equals("verbose")) {
                assertThat(s.value(k)).as(k).isEqualTo(v);
            }
        });
    }

    @Test
    void typedDefaults() throws ConfigException {
        Settings s = defaults();
        assertThat(s.listenAddr()).isEmpty();
        assertThat(s.listenPort()).isEqualTo(6432);
        assertThat(s.unixSocketDir()).isEqualTo("/tmp");
        assertThat(s.unixSocketMode()).isEqualTo(0777);
        assertThat(s.authType()).isEqualTo(AuthType.MD5);
        assertThat(s.authFile()).isNull();
        assertThat(s.adminUsers()).isEmpty();
        assertThat(s.statsUsers()).isEmpty();
        assertThat(s.poolMode()).isEqualTo(PoolMode.SESSION);
        assertThat(s.maxClientConn()).isEqualTo(100);
        assertThat(s.defaultPoolSize()).isEqualTo(20);
        assertThat(s.minPoolSize()).isZero();
        assertThat(s.reservePoolSize()).isZero();
        assertThat(s.reservePoolTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.maxDbConnections()).isZero();
        assertThat(s.maxUserConnections()).isZero();
        assertThat(s.serverResetQuery()).isEqualTo("DISCARD ALL");
        assertThat(s.serverResetQueryAlways()).isFalse();
        assertThat(s.ignoreStartupParameters()).isEmpty();
        assertThat(s.logfile()).isNull();
        assertThat(s.pidfile()).isNull();
        assertThat(s.maxPacketSize()).isEqualTo(Integer.MAX_VALUE);
        assertThat(s.serverLoginRetry()).isEqualTo(Duration.ofSeconds(15));
        assertThat(s.serverConnectTimeout()).isEqualTo(Duration.ofSeconds(15));
        assertThat(s.clientLoginTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.queryWaitTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(s.serverIdleTimeout()).isEqualTo(Duration.ofSeconds(600));
        assertThat(s.serverLifetime()).isEqualTo(Duration.ofSeconds(3600));
        assertThat(s.trackExtraParameters()).containsExactly("IntervalStyle");
        assertThat(s.maxPreparedStatements()).isEqualTo(200);
        assertThat(s.applicationNameAddHost()).isFalse();
        assertThat(s.scramIterations()).isEqualTo(4096);
        assertThat(s.serverCheckQuery()).isEqualTo("select 1");
        assertThat(s.explicitValues()).isEmpty();
    }

    @Test
    void implementedKeysAreAllKnown() {
        assertThat(Settings.knownKeys()).containsAll(Settings.IMPLEMENTED);
    }

    @Test
    void unknownKeyInValueIsAProgrammingError() throws ConfigException {
        assertThatThrownBy(() -> defaults().value("nope")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void relativePathsResolveAgainstConfigDirectory() throws ConfigException {
        Path f = Path.of("/etc/sluice/pgbouncer.ini");
        Map<String, IniEntry> e = new LinkedHashMap<>();
        e.put("auth_file", new IniEntry("pgbouncer", "auth_file", "userlist.txt", f, 1));
        e.put("pidfile", new IniEntry("pgbouncer", "pidfile", "/run/sluice.pid", f, 2));
        Settings s = new Settings(e, Path.of("/etc/sluice"));
        assertThat(s.authFile()).isEqualTo(Path.of("/etc/sluice/userlist.txt"));
        assertThat(s.pidfile()).isEqualTo(Path.of("/run/sluice.pid"));
    }

    @Test
    void valueFormats() {
        assertThat(Values.parseSeconds("0.5")).isEqualTo(Duration.ofMillis(500));
        assertThat(Values.parseSeconds("0.000001")).isEqualTo(Duration.ofNanos(1000));
        assertThat(Values.parseSeconds("0")).isEqualTo(Duration.ZERO);
        assertThat(Values.parseOctalMode("0777")).isEqualTo(511);
        assertThat(Values.parseOctalMode("600")).isEqualTo(0600);
        assertThat(Values.commaList(" a, ,b ,")).isEqualTo(List.of("a", "b"));
        assertThat(Values.commaList("")).isEmpty();
        assertThatThrownBy(() -> Values.parseInt("1.5", 0, 10)).hasMessage("invalid integer \"1.5\"");
        assertThatThrownBy(() -> Values.parseSeconds("1e999999999999")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aTimeMeantAsNeverIsAsLongAsCanBeCounted() {
        // PgBouncer takes these; Sluice counts durations in nanoseconds, which end at 292 years.
        assertThat(Values.parseSeconds("99999999999").toNanos()).isEqualTo(Long.MAX_VALUE);
        assertThat(Values.parseSeconds("9000000000").toNanos()).isEqualTo(9_000_000_000L * 1_000_000_000L);
    }

    @Test
    void enumSpellings() {
        assertThat(AuthType.parse("SCRAM-SHA-256")).isEqualTo(AuthType.SCRAM_SHA_256);
        assertThat(AuthType.SCRAM_SHA_256.configName()).isEqualTo("scram-sha-256");
        assertThat(AuthType.HBA.configName()).isEqualTo("hba");
        assertThat(PoolMode.parse("TRANSACTION")).isEqualTo(PoolMode.TRANSACTION);
        assertThat(PoolMode.SESSION.configName()).isEqualTo("session");
        assertThatThrownBy(() -> AuthType.parse("crypt")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void connectionStringSyntax() {
        assertThat(ConnectionString.parse(" a=1  b = 'x y'  c='' d=\\e ")).containsExactly(
                Map.entry("a", "1"), Map.entry("b", "x y"), Map.entry("c", ""), Map.entry("d", "\\e"));
        assertThat(ConnectionString.parse("a='it\\'s' b='back\\\\slash'"))
                .containsEntry("a", "it's").containsEntry("b", "back\\slash");
        assertThatThrownBy(() -> ConnectionString.parse("a='x'b=1")).isInstanceOf(IllegalArgumentException.class);
    }
}
