package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sluice.testing.LeakCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * auth_type hba as clients see it: rules chosen by connection type, address, database and user,
 * each method doing what it says (trust, reject, password, md5, scram-sha-256, peer), PgBouncer's
 * words for a refusal, and a file Sluice cannot read whole refused at start-up and on RELOAD.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HbaIT {
    private static final String DBS = "db = host=127.0.0.1 port=${PG_PORT} dbname=postgres user=postgres\n"
            + "closed = host=127.0.0.1 port=${PG_PORT} dbname=postgres user=postgres";
    private static final String USERS = SluiceHarness.USERLIST + "\"root\" \"\"\n";

    private static final String RULES = String.join("\n",
            "# Unix socket: the OS user must be the database user; md5user is trusted there",
            "local   all     root,postgres   peer",
            "local   all     md5user         trust",
            "host    closed  all             127.0.0.1/32    reject",
            "host    all     scramuser       127.0.0.1/32    scram-sha-256",
            "host    all     md5user         127.0.0.1       255.255.255.255  md5",
            "host    all     plainuser       127.0.0.0/8     password",
            "host    all     all             10.0.0.0/8      trust",
            "");

    private static SluiceHarness start(Path hba) {
        return SluiceHarness.start(DBS, "auth_type = hba\nauth_hba_file = " + hba, USERS);
    }

    private static Path hbaFile(String rules) throws Exception {
        Path f = Files.createTempFile("sluice-hba", ".conf");
        Files.writeString(f, rules);
        return f;
    }

    private static String refusal(SluiceHarness h, String db, String user, String password) {
        return assertThrows(SQLException.class, () -> h.connect(db, user, password).close()).getMessage();
    }

    @Test
    void eachRuleGivesItsMethod() throws Exception {
        try (SluiceHarness h = start(hbaFile(RULES))) {
            try (Connection c = h.connect("db", "md5user", "md5pass")) {
                assertThat(scalar(c, "select 'md5 by rule'")).isEqualTo("md5 by rule");
            }
            assertThat(refusal(h, "db", "md5user", "wrong")).contains("password authentication failed");
            try (Connection c = h.connect("db", "scramuser", "scrampass")) {
                assertThat(scalar(c, "select 'scram by rule'")).isEqualTo("scram by rule");
            }
            try (Connection c = h.connect("db", "plainuser", "plainpass")) {
                assertThat(scalar(c, "select 'password by rule'")).isEqualTo("password by rule");
            }
            // Database closed by a reject rule, for everyone, whatever the password.
            assertThat(refusal(h, "closed", "md5user", "md5pass")).contains("login rejected");
            // From 127.0.0.1 no rule names postgres (10.0.0.0/8 would trust it).
            assertThat(refusal(h, "db", "postgres", "")).contains("no authentication method is found");
        }
    }

    @Test
    void unixSocketRulesAndPeer() throws Exception {
        try (SluiceHarness h = start(hbaFile(RULES))) {
            String socket = "host=" + h.socketDir() + " port=" + h.port() + " dbname=db";
            // trust on the socket: no password asked.
            var trusted = SluiceHarness.psql("-X", "-A", "-t", "-d", socket + " user=md5user", "-c", "select 'trusted'");
            assertThat(trusted.output()).isEqualTo("trusted");
            // peer: the test runs as root, so root passes and postgres does not.
            String os = System.getProperty("user.name");
            var asSelf = SluiceHarness.psql("-X", "-A", "-t", "-d", socket + " user=" + os, "-c", "select 'peer'");
            if (os.equals("root")) {
                assertThat(asSelf.output()).isEqualTo("peer");
            }
            var asOther = SluiceHarness.psql("-X", "-A", "-t", "-d", socket + " user=postgres", "-c", "select 1");
            assertThat(asOther.exitCode()).isNotZero();
            assertThat(asOther.output()).contains("unix socket login rejected");
            var unlisted = SluiceHarness.psql("-X", "-A", "-t", "-d", socket + " user=scramuser password=scrampass",
                    "-c", "select 1");
            assertThat(unlisted.output()).contains("no authentication method is found");
        }
    }

    @Test
    void reloadTakesNewRulesAndRefusesABrokenFile() throws Exception {
        Path hba = hbaFile(RULES);
        try (SluiceHarness h = start(hba)) {
            assertThat(refusal(h, "closed", "md5user", "md5pass")).contains("login rejected");
            Files.writeString(hba, RULES.replace("host    closed  all             127.0.0.1/32    reject\n", ""));
            assertThat(h.sluice().reload()).isNull();
            try (Connection c = h.connect("closed", "md5user", "md5pass")) {
                assertThat(scalar(c, "select 'open now'")).isEqualTo("open now");
            }
            // A line Sluice cannot use: the whole reload is refused and the rules in force stay.
            Files.writeString(hba, "host all all 127.0.0.1/32 ident\n" + RULES);
            assertThat(h.sluice().reload()).contains("auth_hba_file").contains(":1:");
            try (Connection c = h.connect("closed", "md5user", "md5pass")) {
                assertThat(scalar(c, "select 'still open'")).isEqualTo("still open");
            }
        }
    }

    @Test
    void aFileSluiceCannotUseStopsStartUp() throws Exception {
        Path hba = hbaFile("host all all 127.0.0.1/32 trust\nhost all all 127.0.0.1/33 reject\n");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> start(hba).close());
        assertThat(e.getMessage()).contains("auth_hba_file").contains(hba + ":2");
        Path ldap = hbaFile("host all all 127.0.0.1/32 ldap ldapserver=x\n");
        assertThat(assertThrows(IllegalStateException.class, () -> start(ldap).close()).getMessage())
                .contains("ldap is not supported by Sluice");
    }
}
