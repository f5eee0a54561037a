package io.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The welcome's ParameterStatus messages, made once per pool and requested values and then reused. */
class TrackedParametersTest {
    private final TrackedNames names = new TrackedNames(List.of());
    private final Map<String, String> server = new LinkedHashMap<>(Map.of(
            "server_version", "16.4", "client_encoding", "UTF8", "DateStyle", "ISO, MDY", "application_name", ""));

    private TrackedParameters client(String... nameValues) {
        TrackedParameters t = new TrackedParameters(names);
        for (int i = 0; i < nameValues.length; i += 2) {
            assertThat(t.acceptStartup(nameValues[i], nameValues[i + 1], Set.of())).isNull();
        }
        return t;
    }

    /** The ParameterStatus messages as "name=value", in order. */
    private static List<String> welcome(TrackedParameters t, Map<String, String> server) {
        ByteBuf out = Unpooled.buffer();
        t.welcome(server, out);
        List<String> got = new ArrayList<>();
        while (out.isReadable()) {
            assertThat(out.readByte()).isEqualTo((byte) 'S');
            ByteBuf body = out.readSlice(out.readInt() - 4);
            String[] parts = body.toString(StandardCharsets.UTF_8).split("\0");
            got.add(parts[0] + "=" + (parts.length > 1 ? parts[1] : ""));
        }
        out.release();
        return got;
    }

    @Test
    void eachClientIsWelcomedWithItsOwnValuesOverTheServers() {
        List<String> billing = welcome(client("application_name", "billing"), server);
        List<String> reports = welcome(client("application_name", "reports", "TimeZone", "UTC"), server);
        List<String> plain = welcome(client(), server);

        assertThat(billing).containsExactlyInAnyOrder("server_version=16.4", "client_encoding=UTF8",
                "DateStyle=ISO, MDY", "application_name=billing");
        assertThat(reports).containsExactlyInAnyOrder("server_version=16.4", "client_encoding=UTF8",
                "DateStyle=ISO, MDY", "application_name=reports", "TimeZone=UTC");
        assertThat(plain).contains("application_name=");
        // Asked again after the welcomes were kept: the same answers, not another client's.
        assertThat(welcome(client("application_name", "billing"), server)).isEqualTo(billing);
        assertThat(welcome(client("application_name", "reports", "TimeZone", "UTC"), server)).isEqualTo(reports);
        assertThat(welcome(client(), server)).isEqualTo(plain);
    }

    @Test
    void clientsWithTheSameValuesShareOneViewSoASyncedServerNeedsNoSet() {
        TrackedParameters a = client("application_name", "billing");
        TrackedParameters b = client("application_name", "billing");
        welcome(a, server);
        welcome(b, server);

        assertThat(b.view()).isSameAs(a.view());
        assertThat(b.syncQuery(server, a.view())).isNull();
        assertThat(b.syncQuery(server, null)).containsExactly("SET application_name = 'billing';");
    }

    @Test
    void anotherPoolsServerValuesAreNotTakenFromTheKeptWelcome() {
        Map<String, String> other = new LinkedHashMap<>(server);
        other.put("server_version", "17.0");

        assertThat(welcome(client(), server)).contains("server_version=16.4");
        assertThat(welcome(client(), other)).contains("server_version=17.0");
    }

    @Test
    void valuesAreQuotedAsQuoteLiteralDoesSoNoSettingOfStandardConformingStringsEndsThemEarly() {
        assertThat(TrackedParameters.literal("plain")).isEqualTo("'plain'");
        assertThat(TrackedParameters.literal("it's")).isEqualTo("'it''s'");
        assertThat(TrackedParameters.literal("x\\'; CREATE TABLE t(); --"))
                .isEqualTo("E'x\\\\''; CREATE TABLE t(); --'");
        assertThat(TrackedParameters.literal("\\")).isEqualTo("E'\\\\'");
    }

    @Test
    void aValueBeyondAsciiIsSetWhileTheServerReadsUtf8AndTheClientsEncodingIsSetBackLast() {
        Map<String, String> sjis = new LinkedHashMap<>(server);
        sjis.put("client_encoding", "SJIS");
        TrackedParameters t = client("application_name", "\u30a2\\'");
        welcome(t, server);

        assertThat(t.syncQuery(sjis, null)).containsExactly("SET client_encoding = 'UTF8'",
                "SET client_encoding = 'UTF8';SET application_name = E'\u30a2\\\\''';");
    }
}
