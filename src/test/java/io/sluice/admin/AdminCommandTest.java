package io.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** PgBouncer's console grammar, with the inputs its regexes accept and refuse. */
class AdminCommandTest {
    @Test
    void commandsInAnyCaseWithOptionalArgumentAndSemicolon() {
        assertThat(AdminCommand.parse("SHOW POOLS")).isEqualTo(new AdminCommand("show", "POOLS", null));
        assertThat(AdminCommand.parse("  show pools ;  ")).isEqualTo(new AdminCommand("show", "pools", null));
        assertThat(AdminCommand.parse("reload;")).isEqualTo(new AdminCommand("reload", "", null));
        assertThat(AdminCommand.parse("PAUSE \"my-db\"")).isEqualTo(new AdminCommand("pause", "my-db", null));
        assertThat(AdminCommand.parse("PAUSE \"a\"\"b\"")).isEqualTo(new AdminCommand("pause", "a\"b", null));
        assertThat(AdminCommand.parse("Kill_Client 12")).isEqualTo(new AdminCommand("kill_client", "12", null));
    }

    @Test
    void setTakesAWordOrAQuotedStringWithEqualsOrTo() {
        assertThat(AdminCommand.parse("SET default_pool_size = 30")).isEqualTo(
                new AdminCommand("set", "default_pool_size", "30"));
        assertThat(AdminCommand.parse("set default_pool_size to '31';")).isEqualTo(
                new AdminCommand("set", "default_pool_size", "31"));
        assertThat(AdminCommand.parse("SET server_reset_query = 'DISCARD ''x'''")).isEqualTo(
                new AdminCommand("set", "server_reset_query", "DISCARD 'x'"));
    }

    @Test
    void anythingElseIsAnInvalidCommand() {
        for (String bad : new String[] {"", ";", "SHOW POOLS; SHOW STATS", "show pools extra", "select 1.5",
            "SET x = 1.5", "SHOW POOLS;;", "drop table t"}) {
            assertThatThrownBy(() -> AdminCommand.parse(bad)).as(bad).isInstanceOf(AdminException.class)
                    .hasMessage("invalid command '" + bad + "', use SHOW HELP;");
        }
    }

    @Test
    void overLongWordsAreBadArguments() {
        assertThatThrownBy(() -> AdminCommand.parse("SHOW " + "a".repeat(70))).hasMessage("bad arguments");
        assertThatThrownBy(() -> AdminCommand.parse("set \"\" = 1")).hasMessage("bad arguments");
    }
}
