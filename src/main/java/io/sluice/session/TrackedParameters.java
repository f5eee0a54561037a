package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.sluice.protocol.PgWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The parameters a client believes its server has (client_encoding, DateStyle, TimeZone,
 * standard_conforming_strings, application_name and track_extra_parameters), so that any
 * server it is given can be brought in line with one SET before the client's bytes go on.
 */
final class TrackedParameters {
    private static final List<String> ALWAYS = List.of(
            "client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings", "application_name");

    /** lower-case name → the spelling the server reports. */
    private final Map<String, String> canonical = new LinkedHashMap<>();
    /** Values the client asked for at start-up, by canonical name. */
    private final Map<String, String> requested = new LinkedHashMap<>();
    /** What the client has been told, by canonical name. */
    private final Map<String, String> view = new LinkedHashMap<>();
    private final List<String> lastSynced = new ArrayList<>();

    TrackedParameters(List<String> extra) {
        for (String n : ALWAYS) {
            canonical.put(n.toLowerCase(Locale.ROOT), n);
        }
        for (String n : extra) {
            if (!n.isBlank()) {
                canonical.putIfAbsent(n.trim().toLowerCase(Locale.ROOT), n.trim());
            }
        }
    }

    /**
     * Takes one start-up parameter. Returns null if accepted, else the FATAL message PgBouncer
     * gives for it.
     */
    String acceptStartup(String name, String value, Set<String> ignored) {
        String lower = name.toLowerCase(Locale.ROOT);
        String canon = canonical.get(lower);
        if (canon != null) {
            requested.put(canon, value);
            return null;
        }
        if (ignored.contains(lower)) {
            return null;
        }
        if (lower.equals("options")) {
            return acceptOptions(value);
        }
        return "unsupported startup parameter: " + name;
    }

    /** {@code options} may carry {@code -c name=value} (or {@code --name=value}) for tracked names only. */
    private String acceptOptions(String options) {
        String[] words = options.trim().split("\\s+");
        for (int i = 0; i < words.length; i++) {
            String w = words[i];
            if (w.isEmpty()) {
                continue;
            }
            String setting;
            if (w.equals("-c") && i + 1 < words.length) {
                setting = words[++i];
            } else if (w.startsWith("-c")) {
                setting = w.substring(2);
            } else if (w.startsWith("--")) {
                setting = w.substring(2);
            } else {
                return "unsupported options startup parameter: only '-c key=value' is allowed";
            }
            int eq = setting.indexOf('=');
            String key = eq < 0 ? setting : setting.substring(0, eq);
            String canon = canonical.get(key.replace('-', '_').toLowerCase(Locale.ROOT));
            if (eq < 0 || canon == null) {
                return "unsupported options startup parameter: parameter cannot be changed: " + key;
            }
            requested.put(canon, setting.substring(eq + 1));
        }
        return null;
    }

    /** application_name_add_host: the client's address goes after its application_name. */
    void addHostToApplicationName(String hostAndPort) {
        requested.merge("application_name", " - " + hostAndPort, String::concat);
    }

    /** Writes the ParameterStatus set for the client's welcome: the server's, with the client's own values. */
    void welcome(Map<String, String> server, ByteBuf out) {
        Map<String, String> shown = new LinkedHashMap<>(server);
        for (Map.Entry<String, String> e : requested.entrySet()) {
            shown.put(e.getKey(), e.getValue());
        }
        for (Map.Entry<String, String> e : shown.entrySet()) {
            PgWriter.parameterStatus(out, e.getKey(), e.getValue());
            if (canonical.containsKey(e.getKey().toLowerCase(Locale.ROOT))) {
                view.put(canonicalOf(e.getKey()), e.getValue());
            }
        }
    }

    /** One {@code SET} string that brings {@code server} in line with the client, or null if it is. */
    String syncQuery(Map<String, String> server) {
        lastSynced.clear();
        StringBuilder sql = null;
        for (Map.Entry<String, String> e : view.entrySet()) {
            String current = server.get(e.getKey());
            if (e.getValue() == null || e.getValue().equals(current)) {
                continue;
            }
            if (sql == null) {
                sql = new StringBuilder();
            }
            sql.append("SET ").append(e.getKey()).append(" = '")
                    .append(e.getValue().replace("'", "''")).append("';");
            lastSynced.add(e.getKey());
        }
        return sql == null ? null : sql.toString();
    }

    /** After a sync, the client's view takes the server's spelling of each value (DateStyle "ISO" → "ISO, MDY"). */
    void synced(Map<String, String> server) {
        for (String k : lastSynced) {
            String v = server.get(k);
            if (v != null) {
                view.put(k, v);
            }
        }
        lastSynced.clear();
    }

    /** A ParameterStatus the client saw (its own SET): the client's view follows. */
    void serverReported(String name, String value) {
        String canon = canonical.get(name.toLowerCase(Locale.ROOT));
        if (canon != null) {
            view.put(canon, value);
        }
    }

    private String canonicalOf(String name) {
        return canonical.getOrDefault(name.toLowerCase(Locale.ROOT), name);
    }
}
