package io.sluice.session;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The names of the tracked parameters (PgBouncer's five plus track_extra_parameters), shared by
 * every client, so a client keeps only an array of values; and a shared pool of parameter
 * values, since thousands of clients send the same few ("UTF8", "ISO, MDY", "UTC").
 */
final class TrackedNames {
    private static final List<String> ALWAYS = List.of(
            "client_encoding", "DateStyle", "TimeZone", "standard_conforming_strings", "application_name");
    /** Distinct values kept for sharing; past this, values are simply not shared. */
    private static final int MAX_SHARED_VALUES = 10_000;
    /**
     * Longer values are never kept for sharing (nor views or welcomes holding them): the tables
     * live as long as Sluice, and clients with unique 10 kB application_names would otherwise
     * fill them with 100 MB that no one shares. Common values ("UTF8", "ISO, MDY") are short.
     */
    static final int MAX_SHARED_LENGTH = 256;

    private final String[] names;
    private final Map<String, Integer> indexByLowerName = new HashMap<>();
    private final ConcurrentHashMap<String, String> values = new ConcurrentHashMap<>();

    TrackedNames(List<String> extra) {
        List<String> all = new ArrayList<>(ALWAYS);
        for (String n : extra) {
            String t = n.trim();
            if (!t.isEmpty() && all.stream().noneMatch(a -> a.equalsIgnoreCase(t))) {
                all.add(t);
            }
        }
        names = all.toArray(new String[0]);
        for (int i = 0; i < names.length; i++) {
            indexByLowerName.put(names[i].toLowerCase(Locale.ROOT), i);
        }
    }

    int size() {
        return names.length;
    }

    /** The spelling the server reports, e.g. "DateStyle". */
    String name(int i) {
        return names[i];
    }

    /** Index of a tracked name in any letter case, or -1. */
    int indexOf(String name) {
        Integer i = indexByLowerName.get(name.toLowerCase(Locale.ROOT));
        return i == null ? -1 : i;
    }

    /** Value sets (a client's view of all tracked parameters) kept for sharing; past this, not shared. */
    private static final int MAX_SHARED_VIEWS = 10_000;
    private final ConcurrentHashMap<ViewKey, String[]> views = new ConcurrentHashMap<>();

    /** An array of values as a map key, by content. */
    private record ViewKey(String[] values) {
        @Override
        public boolean equals(Object o) {
            return o instanceof ViewKey k && Arrays.equals(values, k.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }
    }

    /**
     * The shared array with the same values as {@code view}, which must not be changed after
     * this call. Clients with equal values then hold the same array, so comparing two views
     * is comparing two references.
     */
    String[] intern(String[] view) {
        return shareable(view) ? shared(views, new ViewKey(view), view, MAX_SHARED_VIEWS) : view;
    }

    private static boolean shareable(String[] values) {
        for (String v : values) {
            if (v != null && v.length() > MAX_SHARED_LENGTH) {
                return false;
            }
        }
        return true;
    }

    /** Welcomes kept for reuse; past this (every client with its own application_name), made each time. */
    private static final int MAX_WELCOMES = 1_000;
    private final ConcurrentHashMap<WelcomeKey, Welcome> welcomes = new ConcurrentHashMap<>();

    /** A client's welcome: its ParameterStatus messages, and the view of the parameters they give it. */
    record Welcome(byte[] bytes, String[] view) {
    }

    /** A pool's server parameters (by identity: a pool keeps one map) and a client's requested values. */
    private record WelcomeKey(Map<String, String> server, String[] requested) {
        @Override
        public boolean equals(Object o) {
            return o instanceof WelcomeKey k && server == k.server && Arrays.equals(requested, k.requested);
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(server) * 31 + Arrays.hashCode(requested);
        }
    }

    /**
     * The welcome for a client of the pool whose server parameters are {@code server} that
     * asked for {@code requested} at start-up: made by {@code make} the first time, then the
     * same bytes for every such client. Writing a welcome message by message was the largest
     * piece of Sluice's own code in a login.
     */
    Welcome welcome(Map<String, String> server, String[] requested,
            Function<Map<String, String>, Welcome> make) {
        WelcomeKey key = new WelcomeKey(server, requested);
        Welcome w = welcomes.get(key);
        if (w != null) {
            return w;
        }
        w = make.apply(server);
        if (welcomes.size() < MAX_WELCOMES && shareable(requested)) {
            welcomes.putIfAbsent(new WelcomeKey(server, requested.clone()), w);
        }
        return w;
    }

    /** The shared copy of {@code value}. */
    String share(String value) {
        return value == null || value.length() > MAX_SHARED_LENGTH ? value : shared(values, value, value, MAX_SHARED_VALUES);
    }

    /** The value kept in {@code pool} under {@code key}, or {@code value}, kept while the pool has room. */
    private static <K, V> V shared(ConcurrentHashMap<K, V> pool, K key, V value, int max) {
        V shared = pool.get(key);
        if (shared != null) {
            return shared;
        }
        if (pool.size() < max) {
            shared = pool.putIfAbsent(key, value);
            return shared == null ? value : shared;
        }
        return value;
    }
}
