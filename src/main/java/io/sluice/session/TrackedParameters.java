package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.protocol.PgWriter;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The parameters a client believes its server has (client_encoding, DateStyle, TimeZone,
 * standard_conforming_strings, application_name and track_extra_parameters), so that any
 * server it is given can be brought in line with one SET before the client's bytes go on.
 *
 * <p>Kept as two small arrays indexed by {@link TrackedNames}: one of these lives for every
 * idle client, so it must cost little.
 */
final class TrackedParameters {
    private final TrackedNames names;
    /** Values the client asked for at start-up (null: not asked). */
    private final String[] requested;
    /**
     * What the client has been told. Never changed in place: a change makes a new array, shared
     * through {@link TrackedNames#intern} with every client that sees the same values, so that
     * "this server was last brought in line with exactly this" is one reference comparison.
     */
    private String[] view;
    /** Bit i set: parameter i was in the last sync query. */
    private long lastSynced;

    TrackedParameters(TrackedNames names) {
        this.names = names;
        this.requested = new String[names.size()];
        this.view = names.intern(new String[names.size()]);
    }

    /**
     * Takes one start-up parameter. Returns null if accepted, else the FATAL message PgBouncer
     * gives for it.
     */
    String acceptStartup(String name, String value, Set<String> ignored) {
        int i = names.indexOf(name);
        if (i >= 0) {
            // Not shared yet: nothing an unauthenticated client sends may outlive it ({@link #authenticated}).
            requested[i] = value;
            return null;
        }
        String lower = name.toLowerCase(Locale.ROOT);
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
        for (int w = 0; w < words.length; w++) {
            String word = words[w];
            if (word.isEmpty()) {
                continue;
            }
            String setting;
            if (word.equals("-c") && w + 1 < words.length) {
                setting = words[++w];
            } else if (word.startsWith("-c")) {
                setting = word.substring(2);
            } else if (word.startsWith("--")) {
                setting = word.substring(2);
            } else {
                return "unsupported options startup parameter: only '-c key=value' is allowed";
            }
            int eq = setting.indexOf('=');
            String key = eq < 0 ? setting : setting.substring(0, eq);
            int i = names.indexOf(key.replace('-', '_'));
            if (eq < 0 || i < 0) {
                return "unsupported options startup parameter: parameter cannot be changed: " + key;
            }
            requested[i] = setting.substring(eq + 1);
        }
        return null;
    }

    /**
     * The client logged in: its values may now be shared with other clients' (kept in
     * {@link TrackedNames} for as long as Sluice runs), which a client that never authenticates
     * must not be able to fill.
     */
    void authenticated() {
        for (int i = 0; i < requested.length; i++) {
            requested[i] = names.share(requested[i]);
        }
    }

    /** What the client asked for {@code name} at start-up, null for nothing (the console's SHOW CLIENTS). */
    String requested(String name) {
        int i = names.indexOf(name);
        return i < 0 ? null : requested[i];
    }

    /** application_name_add_host: the client's address goes after its application_name. */
    void addHostToApplicationName(String hostAndPort) {
        int i = names.indexOf("application_name");
        requested[i] = (requested[i] == null ? "" : requested[i]) + " - " + hostAndPort;
    }

    /**
     * Writes the ParameterStatus set for the client's welcome: the server's, with the client's
     * own values. Every client of a pool that asked for the same values gets the same bytes, so
     * they are made once and kept ({@link TrackedNames#welcome}); a login then copies them.
     * Called once per client, at login, while its view is still the initial one (nothing
     * known), so what is kept depends on {@code server} and the requested values only.
     */
    void welcome(Map<String, String> server, ByteBuf out) {
        TrackedNames.Welcome w = names.welcome(server, requested, this::makeWelcome);
        out.writeBytes(w.bytes());
        this.view = w.view();
    }

    /** The welcome for {@code server} and this client's requested values, made afresh. */
    private TrackedNames.Welcome makeWelcome(Map<String, String> server) {
        ByteBuf out = Unpooled.buffer(512);
        String[] view = this.view.clone();
        for (Map.Entry<String, String> e : server.entrySet()) {
            int i = names.indexOf(e.getKey());
            if (i < 0) {
                PgWriter.parameterStatus(out, e.getKey(), e.getValue());
            } else {
                view[i] = requested[i] != null ? requested[i] : names.share(e.getValue());
                PgWriter.parameterStatus(out, names.name(i), view[i]);
            }
        }
        for (int i = 0; i < requested.length; i++) {
            if (requested[i] != null && view[i] == null) {
                view[i] = requested[i];
                PgWriter.parameterStatus(out, names.name(i), view[i]);
            }
        }
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        return new TrackedNames.Welcome(bytes, names.intern(view));
    }

    /**
     * The queries that bring {@code server} in line with the client, or null if it is:
     * {@code SET} statements in one query string, with one {@code SET client_encoding} query
     * before it when a value is not plain ASCII and the server is not reading UTF-8 (see
     * {@link #literal}). {@code serverSyncedTo} is what the server was last found or made to
     * match (its {@link #view()} then), null if unknown: the common case of an unchanged server
     * and a client with the usual values is then one comparison.
     */
    String[] syncQuery(Map<String, String> server, Object serverSyncedTo) {
        lastSynced = 0;
        if (serverSyncedTo == view) {
            return null;
        }
        StringBuilder sql = null;
        boolean nonAscii = false;
        for (int i = 0; i < view.length; i++) {
            String want = view[i];
            if (want == null || want.equals(server.get(names.name(i)))) {
                continue;
            }
            if (sql == null) {
                sql = new StringBuilder();
            }
            appendSet(sql, names.name(i), want);
            nonAscii |= !isAscii(want);
            lastSynced |= 1L << i;
        }
        if (sql == null) {
            return null;
        }
        String encoding = server.get("client_encoding");
        if (!nonAscii || "UTF8".equalsIgnoreCase(encoding)) {
            return new String[] {sql.toString()};
        }
        // The values go as UTF-8, so the server must read them so (a query string is converted
        // from client_encoding whole, before it is parsed: a SET inside it would come too late).
        // client_encoding is then set back, last, to what the client believes it is.
        int enc = names.indexOf("client_encoding");
        if ((lastSynced & (1L << enc)) == 0) {
            String back = view[enc] != null ? view[enc] : encoding;
            if (back != null) {
                appendSet(sql, names.name(enc), back);
                lastSynced |= 1L << enc;
            }
        }
        return new String[] {"SET client_encoding = 'UTF8'", sql.toString()};
    }

    private static void appendSet(StringBuilder sql, String name, String value) {
        sql.append("SET ").append(name).append(" = ").append(literal(value)).append(';');
    }

    /**
     * {@code value} as a string literal that reads the same under either setting of
     * standard_conforming_strings, as PostgreSQL's quote_literal writes it: quotes doubled, and
     * where there is a backslash, backslashes doubled in an {@code E'...'} string. With plain
     * {@code '...'} and quotes doubled, a server left with standard_conforming_strings = off by
     * one client took {@code \'} in another client's application_name as an escaped quote, and
     * ran what followed as SQL, as the pool's user.
     *
     * <p>Safe only if the server reads the bytes as the UTF-8 they are written in: in a
     * client-only encoding such as SJIS, a byte of a multi-byte character can swallow the
     * backslash that follows it (CVE-2006-2313), hence the client_encoding query in
     * {@link #syncQuery}.
     */
    static String literal(String value) {
        boolean backslash = value.indexOf('\\') >= 0;
        StringBuilder b = new StringBuilder(value.length() + 4);
        if (backslash) {
            b.append('E');
        }
        b.append('\'');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\'' || (c == '\\' && backslash)) {
                b.append(c);
            }
            b.append(c);
        }
        return b.append('\'').toString();
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    /** After a sync, the client's view takes the server's spelling of each value (DateStyle "ISO" → "ISO, MDY"). */
    void synced(Map<String, String> server) {
        String[] next = null;
        for (int i = 0; i < view.length; i++) {
            if ((lastSynced & (1L << i)) != 0) {
                String v = server.get(names.name(i));
                if (v != null && !v.equals(view[i])) {
                    if (next == null) {
                        next = view.clone();
                    }
                    next[i] = names.share(v);
                }
            }
        }
        if (next != null) {
            view = names.intern(next);
        }
        lastSynced = 0;
    }

    /** The client's current values, as a token for {@link #syncQuery}: equal tokens, equal values. */
    Object view() {
        return view;
    }

    /** The client's value of tracked parameter {@code name} now, null when unknown. */
    String value(String name) {
        int i = names.indexOf(name);
        return i < 0 ? null : view[i];
    }

    /** A ParameterStatus the client saw (its own SET): the client's view follows. */
    void serverReported(String name, String value) {
        int i = names.indexOf(name);
        if (i >= 0 && !value.equals(view[i])) {
            String[] next = view.clone();
            next[i] = names.share(value);
            view = names.intern(next);
        }
    }
}
