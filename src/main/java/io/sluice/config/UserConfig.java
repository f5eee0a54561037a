package io.sluice.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One [users] entry: per-user overrides of pool shape and limits. Null fields were not given;
 * {@code raw} holds every key as written, including those Sluice does not use yet.
 */
public record UserConfig(String name, PoolMode poolMode, Integer poolSize, Integer reservePoolSize,
        Integer maxUserConnections, Map<String, String> raw) {

    public UserConfig {
        Objects.requireNonNull(name, "name");
        raw = raw == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(raw));
    }

    /** Parses one {@code name = key=value ...} line of [users]. */
    static UserConfig parse(IniEntry e) throws ConfigException {
        Map<String, String> kv;
        try {
            kv = ConnectionString.parse(e.value());
        } catch (IllegalArgumentException ex) {
            throw e.error(ex.getMessage());
        }
        PoolMode poolMode = null;
        Integer poolSize = null;
        Integer reservePoolSize = null;
        Integer maxUserConnections = null;
        for (Map.Entry<String, String> p : kv.entrySet()) {
            String k = p.getKey();
            String v = p.getValue();
            try {
                switch (k) {
                    case "pool_mode" -> poolMode = PoolMode.parse(v);
                    case "pool_size" -> poolSize = Values.parseInt(v, 0, Integer.MAX_VALUE);
                    case "reserve_pool_size" -> reservePoolSize = Values.parseInt(v, 0, Integer.MAX_VALUE);
                    case "max_user_connections" -> maxUserConnections = Values.parseInt(v, 0, Integer.MAX_VALUE);
                    case "max_user_client_connections" -> Values.parseInt(v, 0, Integer.MAX_VALUE);
                    case "query_timeout", "idle_transaction_timeout", "transaction_timeout",
                            "client_idle_timeout", "query_wait_timeout" -> Values.parseSeconds(v);
                    default -> throw new IllegalArgumentException("unrecognized user parameter: " + k);
                }
            } catch (IllegalArgumentException ex) {
                String msg = ex.getMessage();
                throw e.error(msg.startsWith("unrecognized") || msg.startsWith("invalid pool_mode")
                        ? msg : k + ": " + msg);
            }
        }
        return new UserConfig(e.key(), poolMode, poolSize, reservePoolSize, maxUserConnections, kv);
    }

    /** max_user_client_connections of this entry, null when not given or 0 (the [pgbouncer] value applies). */
    public Integer maxUserClientConnections() {
        String v = raw.get("max_user_client_connections");
        int n = v == null ? 0 : Values.parseInt(v, 0, Integer.MAX_VALUE);
        return n == 0 ? null : n;
    }

    /**
     * The user's own value of a timeout ([users] query_timeout, idle_transaction_timeout,
     * transaction_timeout, client_idle_timeout, query_wait_timeout), empty when unset or 0: as in
     * PgBouncer, only a value above 0 overrides the [pgbouncer] one.
     */
    public java.util.Optional<java.time.Duration> timeout(String key) {
        String v = raw.get(key);
        if (v == null) {
            return java.util.Optional.empty();
        }
        java.time.Duration d = Values.parseSeconds(v);
        return d.isZero() ? java.util.Optional.empty() : java.util.Optional.of(d);
    }
}
