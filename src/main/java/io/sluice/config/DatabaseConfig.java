package io.sluice.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One [databases] entry: where a client-facing database name really lives and how its pool
 * is shaped. Null fields were not given (the [pgbouncer] default applies); {@code raw} holds
 * every key as written, including those Sluice does not use yet.
 */
public record DatabaseConfig(String name, List<String> hosts, int port, String dbname, String user,
        String password, Integer poolSize, Integer minPoolSize, Integer reservePoolSize,
        Integer maxDbConnections, PoolMode poolMode, String connectQuery, String applicationName,
        String clientEncoding, String dateStyle, String timeZone, Map<String, String> raw) {

    /** The name of the fallback entry, used for databases not listed. */
    public static final String FALLBACK = "*";

    /** Reserved: clients connecting to it get the admin console, never a server. */
    public static final String ADMIN_DATABASE = "pgbouncer";

    public static final int DEFAULT_PORT = 5432;

    /** Keys PgBouncer accepts that Sluice keeps only in {@link #raw()} for now. */
    static final Set<String> RAW_ONLY = Set.of("load_balance_hosts");

    /** auth_user of this entry (users missing from auth_file are looked up as it), null when not given. */
    public String authUser() {
        return blankToNull(raw.get("auth_user"));
    }

    /** auth_query of this entry, null when not given. */
    public String authQuery() {
        return blankToNull(raw.get("auth_query"));
    }

    /** auth_dbname of this entry: the database auth_query runs in, null when not given. */
    public String authDbname() {
        return blankToNull(raw.get("auth_dbname"));
    }

    private static String blankToNull(String v) {
        return v == null || v.isBlank() ? null : v;
    }

    public DatabaseConfig {
        Objects.requireNonNull(name, "name");
        hosts = hosts == null ? List.of() : List.copyOf(hosts);
        raw = raw == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(raw));
    }

    /** max_db_client_connections of this entry, null when not given or 0 (the [pgbouncer] value applies). */
    public Integer maxDbClientConnections() {
        String v = raw.get("max_db_client_connections");
        int n = v == null ? 0 : Values.parseInt(v, 0, Integer.MAX_VALUE);
        return n == 0 ? null : n;
    }

    /** server_lifetime of this entry when given and above 0, else null (the [pgbouncer] value applies). */
    public java.time.Duration serverLifetime() {
        String v = raw.get("server_lifetime");
        java.time.Duration d = v == null ? null : Values.parseSeconds(v);
        return d == null || d.isZero() ? null : d;
    }

    /** The server-side database name: {@code dbname} if given, else the entry's own name. */
    public String effectiveDbname() {
        return dbname != null ? dbname : name;
    }

    /** This entry serving {@code newName}, as the fallback does; the server dbname defaults to it. */
    public DatabaseConfig withName(String newName) {
        return new DatabaseConfig(newName, hosts, port, dbname != null ? dbname : newName, user,
                password, poolSize, minPoolSize, reservePoolSize, maxDbConnections, poolMode,
                connectQuery, applicationName, clientEncoding, dateStyle, timeZone, raw);
    }

    /**
     * The record's usual text with the password masked, here and in {@code raw}: entries end up
     * in logs (a reload's changes, errors), and a password must never reach one.
     */
    @Override
    public String toString() {
        Map<String, String> shownRaw = new LinkedHashMap<>(raw);
        shownRaw.computeIfPresent("password", (k, v) -> "***");
        return "DatabaseConfig[name=" + name + ", hosts=" + hosts + ", port=" + port + ", dbname="
                + dbname + ", user=" + user + ", password=" + (password == null ? null : "***")
                + ", poolSize=" + poolSize + ", minPoolSize=" + minPoolSize + ", reservePoolSize="
                + reservePoolSize + ", maxDbConnections=" + maxDbConnections + ", poolMode=" + poolMode
                + ", connectQuery=" + connectQuery + ", applicationName=" + applicationName
                + ", clientEncoding=" + clientEncoding + ", dateStyle=" + dateStyle + ", timeZone="
                + timeZone + ", raw=" + shownRaw + "]";
    }

    /** Parses one {@code name = key=value ...} line of [databases]. */
    static DatabaseConfig parse(IniEntry e) throws ConfigException {
        String name = e.key();
        if (name.equals(ADMIN_DATABASE)) {
            throw e.error("database name \"pgbouncer\" is reserved for the admin console");
        }
        Map<String, String> kv;
        try {
            kv = ConnectionString.parse(e.value());
        } catch (IllegalArgumentException ex) {
            throw e.error(ex.getMessage());
        }
        List<String> hosts = List.of();
        int port = DEFAULT_PORT;
        String dbname = null;
        String user = null;
        String password = null;
        Integer poolSize = null;
        Integer minPoolSize = null;
        Integer reservePoolSize = null;
        Integer maxDbConnections = null;
        PoolMode poolMode = null;
        String connectQuery = null;
        String applicationName = null;
        String clientEncoding = null;
        String dateStyle = null;
        String timeZone = null;
        for (Map.Entry<String, String> p : kv.entrySet()) {
            String k = p.getKey();
            String v = p.getValue();
            try {
                switch (k) {
                    case "host" -> hosts = Values.commaList(v);
                    case "port" -> port = Values.parseInt(v, 1, 65535);
                    case "dbname" -> dbname = v;
                    case "user" -> user = v;
                    case "password" -> password = v;
                    case "pool_size" -> poolSize = Values.parseInt(v, 0, Integer.MAX_VALUE);
                    case "min_pool_size" -> minPoolSize = Values.parseInt(v, 0, Integer.MAX_VALUE);
                    // reserve_pool is the name older PgBouncer releases documented.
                    case "reserve_pool", "reserve_pool_size" ->
                            reservePoolSize = Values.parseInt(v, 0, Integer.MAX_VALUE);
                    case "max_db_connections" -> maxDbConnections = Values.parseInt(v, 0, Integer.MAX_VALUE);
                    case "pool_mode" -> poolMode = PoolMode.parse(v);
                    case "connect_query" -> connectQuery = v;
                    case "application_name" -> applicationName = v;
                    case "client_encoding" -> clientEncoding = v;
                    case "datestyle" -> dateStyle = v;
                    case "timezone" -> timeZone = v;
                    case "max_db_client_connections" -> Values.parseInt(v, 0, Integer.MAX_VALUE);
                    case "server_lifetime" -> Values.parseSeconds(v);
                    case "load_balance_hosts" -> {
                        if (!v.equals("round-robin") && !v.equals("disable")) {
                            throw new IllegalArgumentException("invalid load_balance_hosts \"" + v
                                    + "\" (expected round-robin or disable)");
                        }
                    }
                    case "auth_user", "auth_query", "auth_dbname" -> { }
                    default -> throw new IllegalArgumentException("unrecognized connection parameter: " + k);
                }
            } catch (IllegalArgumentException ex) {
                String msg = ex.getMessage();
                throw e.error(msg.startsWith("unrecognized") || msg.startsWith("invalid pool_mode")
                        || msg.startsWith("invalid load_balance") ? msg : k + ": " + msg);
            }
        }
        return new DatabaseConfig(name, hosts, port, dbname, user, password, poolSize, minPoolSize,
                reservePoolSize, maxDbConnections, poolMode, connectQuery, applicationName,
                clientEncoding, dateStyle, timeZone, kv);
    }
}
