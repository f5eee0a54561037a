package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.protocol.PgWriter;
import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The SET that Sluice runs to give a client's parameters to a server another client used last
 * cannot be turned into SQL of the client's choosing, whatever the last client left behind
 * (standard_conforming_strings off, a client-only encoding such as SJIS) and whatever the values
 * (quotes, backslashes, dollar quotes, bytes that end a multi-byte character). One server
 * (pool_size = 1, transaction mode) serves both clients, so the second always gets the first's
 * leftovers.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ParameterSyncIT {
    private static final String INJECT = "; CREATE TABLE injected(); --";
    /** Each would have ended the quoted value early under some leftover setting. */
    private static final List<String> HOSTILE = List.of(
            "x\\'" + INJECT,
            "x'" + INJECT,
            "x\\\\'" + INJECT,
            "x\\",
            "$$" + INJECT,
            "\u00c1\\'" + INJECT,
            "\u00c1'" + INJECT,
            "line\nbreak'" + INJECT);
    /**
     * A custom setting (track_extra_parameters): PostgreSQL keeps any text in it unchanged, where
     * application_name turns what is not printable ASCII into '?', so the value read back is
     * exactly the value sent only if Sluice's SET carried it whole.
     */
    private static final String PROBE = "sluice.probe";
    private static final List<String> TRACKED = List.of("application_name", "client_encoding", "DateStyle",
            "TimeZone", "standard_conforming_strings", "IntervalStyle", "search_path", PROBE);

    private static SluiceHarness sluice;

    @BeforeAll
    static void start() {
        sluice = SluiceHarness.start("one = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1",
                "auth_type = trust\npool_mode = transaction\ntrack_extra_parameters = IntervalStyle, search_path, " + PROBE,
                SluiceHarness.USERLIST, 1);
    }

    @AfterAll
    static void stop() {
        sluice.close();
    }

    @BeforeEach
    void noTable() throws Exception {
        try (Connection c = TestPostgres.direct(); Statement st = c.createStatement()) {
            st.execute("DROP TABLE IF EXISTS injected");
        }
    }

    private static boolean injected() throws Exception {
        try (Connection c = TestPostgres.direct()) {
            return SluiceHarness.scalar(c, "select to_regclass('injected') is not null").equals("t");
        }
    }

    /** A client that leaves the pool's one server with {@code leftovers} set. */
    private static void leave(String... leftovers) throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608, "user\0postgres\0database\0one\0");
            w.untilReady();
            for (String set : leftovers) {
                w.send(b -> PgWriter.query(b, set));
                assertThat(w.untilReadyOrError()).noneMatch(m -> m.type() == 'E');
            }
        }
    }

    /** What a client that asked for {@code name = value} at start-up is told the value is, or its error. */
    private static String arrive(String name, String value) throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608, "user\0postgres\0database\0one\0" + name + "\0" + value + "\0");
            List<PgWire.Msg> welcome = w.untilReadyOrError();
            if (welcome.get(welcome.size() - 1).type() == 'E') {
                return "error: " + PgWire.errorMessage(welcome.get(welcome.size() - 1));
            }
            w.send(b -> PgWriter.query(b, "select current_setting('" + name + "')"));
            List<PgWire.Msg> reply = w.untilReadyOrError();
            for (PgWire.Msg m : reply) {
                if (m.type() == 'D') {
                    return m.firstColumn();
                }
                if (m.type() == 'E') {
                    return "error: " + PgWire.errorMessage(m);
                }
            }
            return "nothing";
        }
    }

    @Test
    void aValueIsSetAsSentWhenTheLastClientTurnedStandardConformingStringsOff() throws Exception {
        for (String value : HOSTILE) {
            leave("SET standard_conforming_strings = off");
            assertThat(arrive(PROBE, value)).as(value).isEqualTo(value);
            assertThat(injected()).as(value).isFalse();
        }
    }

    @Test
    void aValueIsSetAsSentWhenTheLastClientLeftAClientOnlyEncoding() throws Exception {
        for (String encoding : List.of("SJIS", "BIG5", "GBK")) {
            for (String value : HOSTILE) {
                leave("SET client_encoding = '" + encoding + "'", "SET standard_conforming_strings = off");
                assertThat(arrive(PROBE, value)).as(encoding + " " + value).isEqualTo(value);
                assertThat(injected()).as(encoding + " " + value).isFalse();
            }
        }
    }

    @Test
    void hostileValuesOfEveryTrackedParameterAreRefusedByPostgresOrSetAsSent() throws Exception {
        for (String name : TRACKED) {
            for (String value : HOSTILE) {
                leave("SET standard_conforming_strings = off", "SET client_encoding = 'SJIS'");
                arrive(name, value);
                assertThat(injected()).as(name + " = " + value).isFalse();
            }
        }
        // Sluice is still serving after every refusal.
        assertThat(arrive("application_name", "fine")).isEqualTo("fine");
    }
}
