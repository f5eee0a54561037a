package io.sluice.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The table of every [pgbouncer] setting PgBouncer knows: its default, how its value is
 * checked, and whether RELOAD can change it.
 *
 * <p>Defaults are PgBouncer's, with its build-time constants filled in: unix_socket_dir
 * {@code /tmp}, scram_iterations 4096, tcp_defer_accept 0, server_check_query
 * {@code select 1}. A default of NULL in PgBouncer is the empty string here, as SHOW CONFIG
 * prints it. Settings Sluice does not use yet are still checked, so a file that PgBouncer
 * would reject does not start Sluice either.
 */
final class SettingSpec {
    /** How a value is checked. */
    enum Kind {
        /** Any text. */
        STRING,
        /** 0 or more. */
        COUNT,
        /** 1 or more. */
        POSITIVE,
        /** 1..65535. */
        PORT,
        /** 1/0, yes/no, on/off, true/false. */
        BOOL,
        /** Seconds, fractions allowed. */
        TIME,
        /** Octal file mode. */
        OCTAL_MODE,
        /** session, transaction, statement. */
        POOL_MODE,
        /** PgBouncer's auth_type spellings. */
        AUTH_TYPE,
        /** reset or close: session_state_policy. */
        STATE_POLICY,
        /** libpq's sslmode values. */
        SSLMODE,
        /**
         * Comma-separated parameter names: letters, digits, '_' and '.', not starting with a digit.
         * They go into Sluice's SET statements as written, so nothing else may pass.
         */
        NAME_LIST
    }

    /** One setting. */
    record Spec(String key, String defaultValue, Kind kind, boolean reloadable) {
    }

    /** Every known setting by name, in alphabetical order (SHOW CONFIG's order). */
    static final Map<String, Spec> ALL;

    private static final Map<String, Spec> TABLE = new LinkedHashMap<>();

    static {
        add("admin_users", "", Kind.STRING, true);
        add("application_name_add_host", "0", Kind.BOOL, true);
        add("auth_dbname", "", Kind.STRING, true);
        add("auth_file", "", Kind.STRING, true);
        add("auth_hba_file", "", Kind.STRING, true);
        add("auth_ident_file", "", Kind.STRING, true);
        add("auth_ldap_options", "", Kind.STRING, true);
        add("auth_query", "SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END FROM pg_authid WHERE rolname=$1 AND rolcanlogin", Kind.STRING, true);
        add("auth_type", "md5", Kind.AUTH_TYPE, true);
        add("auth_user", "", Kind.STRING, true);
        add("autodb_idle_timeout", "3600", Kind.TIME, true);
        add("cancel_wait_timeout", "10", Kind.TIME, true);
        add("client_idle_timeout", "0", Kind.TIME, true);
        add("client_login_timeout", "60", Kind.TIME, true);
        add("client_tls13_ciphers", "", Kind.STRING, true);
        add("client_tls_ca_file", "", Kind.STRING, true);
        add("client_tls_cert_file", "", Kind.STRING, true);
        add("client_tls_ciphers", "default", Kind.STRING, true);
        add("client_tls_dheparams", "auto", Kind.STRING, true);
        add("client_tls_ecdhcurve", "auto", Kind.STRING, true);
        add("client_tls_key_file", "", Kind.STRING, true);
        add("client_tls_protocols", "secure", Kind.STRING, true);
        add("client_tls_sslmode", "disable", Kind.SSLMODE, true);
        add("conffile", "", Kind.STRING, true);
        add("default_pool_size", "20", Kind.COUNT, true);
        add("disable_pqexec", "0", Kind.BOOL, false);
        add("dns_max_ttl", "15", Kind.TIME, true);
        add("dns_nxdomain_ttl", "15", Kind.TIME, true);
        add("dns_zone_check_period", "0", Kind.TIME, true);
        add("idle_transaction_timeout", "0", Kind.TIME, true);
        add("ignore_startup_parameters", "", Kind.STRING, true);
        add("job_name", "pgbouncer", Kind.STRING, false);
        add("listen_addr", "", Kind.STRING, false);
        add("listen_backlog", "128", Kind.COUNT, false);
        add("listen_port", "6432", Kind.PORT, false);
        add("log_connections", "1", Kind.BOOL, true);
        add("log_disconnections", "1", Kind.BOOL, true);
        add("log_pooler_errors", "1", Kind.BOOL, true);
        add("log_stats", "1", Kind.BOOL, true);
        add("logfile", "", Kind.STRING, true);
        add("login_notify_message", "", Kind.STRING, true);
        add("max_client_conn", "100", Kind.COUNT, true);
        add("max_db_client_connections", "0", Kind.COUNT, true);
        add("max_db_connections", "0", Kind.COUNT, true);
        add("max_packet_size", "2147483647", Kind.POSITIVE, true);
        add("max_prepared_statements", "200", Kind.COUNT, true);
        // Sluice's own: clients logging in at once (see PendingLogins).
        add("max_unauthenticated_clients", "1000", Kind.COUNT, true);
        add("max_user_client_connections", "0", Kind.COUNT, true);
        add("max_user_connections", "0", Kind.COUNT, true);
        add("min_pool_size", "0", Kind.COUNT, true);
        add("peer_id", "0", Kind.COUNT, true);
        add("pidfile", "", Kind.STRING, false);
        add("pkt_buf", "4096", Kind.POSITIVE, false);
        add("pool_mode", "session", Kind.POOL_MODE, true);
        add("pool_idle_timeout", "0", Kind.TIME, true);
        add("query_timeout", "0", Kind.TIME, true);
        add("query_wait_notify", "5", Kind.TIME, true);
        add("query_wait_timeout", "120", Kind.TIME, true);
        add("reserve_pool_size", "0", Kind.COUNT, true);
        add("reserve_pool_timeout", "5", Kind.TIME, true);
        add("resolv_conf", "", Kind.STRING, false);
        add("sbuf_loopcnt", "5", Kind.COUNT, true);
        add("scram_iterations", "4096", Kind.POSITIVE, true);
        add("server_check_delay", "30", Kind.TIME, true);
        add("server_check_query", "select 1", Kind.STRING, true);
        add("server_connect_timeout", "15", Kind.TIME, true);
        add("server_fast_close", "0", Kind.BOOL, true);
        add("server_idle_timeout", "600", Kind.TIME, true);
        add("server_lifetime", "3600", Kind.TIME, true);
        add("server_login_retry", "15", Kind.TIME, true);
        add("server_reset_query", "DISCARD ALL", Kind.STRING, true);
        add("server_reset_query_always", "0", Kind.BOOL, true);
        add("server_round_robin", "0", Kind.BOOL, true);
        add("server_tls13_ciphers", "", Kind.STRING, true);
        add("server_tls_ca_file", "", Kind.STRING, true);
        add("server_tls_cert_file", "", Kind.STRING, true);
        add("server_tls_ciphers", "default", Kind.STRING, true);
        add("server_tls_key_file", "", Kind.STRING, true);
        add("server_tls_protocols", "secure", Kind.STRING, true);
        add("server_tls_sslmode", "prefer", Kind.SSLMODE, true);
        add("service_name", "", Kind.STRING, false);
        // Sluice's own: what a transaction-mode client's leftover session state does (see PoolShard).
        add("session_state_policy", "reset", Kind.STATE_POLICY, true);
        add("so_reuseport", "0", Kind.BOOL, false);
        add("stats_period", "60", Kind.COUNT, true);
        add("stats_users", "", Kind.STRING, true);
        add("suspend_timeout", "10", Kind.TIME, true);
        add("syslog", "0", Kind.BOOL, true);
        add("syslog_facility", "daemon", Kind.STRING, true);
        add("syslog_ident", "pgbouncer", Kind.STRING, true);
        add("tcp_defer_accept", "0", Kind.COUNT, true);
        add("tcp_keepalive", "1", Kind.BOOL, true);
        add("tcp_keepcnt", "0", Kind.COUNT, true);
        add("tcp_keepidle", "0", Kind.COUNT, true);
        add("tcp_keepintvl", "0", Kind.COUNT, true);
        add("tcp_socket_buffer", "0", Kind.COUNT, true);
        add("tcp_user_timeout", "0", Kind.COUNT, true);
        add("track_extra_parameters", "IntervalStyle", Kind.NAME_LIST, false);
        add("transaction_timeout", "0", Kind.TIME, true);
        add("unix_socket_dir", "/tmp", Kind.STRING, false);
        add("unix_socket_group", "", Kind.STRING, false);
        add("unix_socket_mode", "0777", Kind.OCTAL_MODE, false);
        add("user", "", Kind.STRING, false);
        add("verbose", "0", Kind.COUNT, true);
        ALL = Collections.unmodifiableMap(TABLE);
    }

    private SettingSpec() {
    }

    private static void add(String key, String defaultValue, Kind kind, boolean reloadable) {
        TABLE.put(key, new Spec(key, defaultValue, kind, reloadable));
    }

    /**
     * What an already checked {@code value} means, so that a respelling ("on" for "1", "60.0"
     * for "60", "0700" for "700") is not taken for a change: RELOAD would otherwise report a
     * setting that cannot change without a restart as changed when it was only rewritten.
     */
    static Object meaning(Kind kind, String value) {
        return switch (kind) {
            case STRING -> value;
            case COUNT, POSITIVE, PORT -> Values.parseInt(value, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case BOOL -> Values.parseBool(value);
            case TIME -> Values.parseSeconds(value);
            case OCTAL_MODE -> Values.parseOctalMode(value);
            case POOL_MODE -> PoolMode.parse(value);
            case AUTH_TYPE -> AuthType.parse(value);
            case SSLMODE, STATE_POLICY -> value.strip().toLowerCase(java.util.Locale.ROOT);
            case NAME_LIST -> Values.commaList(value);
        };
    }

    /** True when two values of setting {@code key} mean the same; a value that does not parse means nothing else. */
    static boolean sameMeaning(String key, String a, String b) {
        Kind kind = ALL.get(key).kind();
        try {
            return meaning(kind, a).equals(meaning(kind, b));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Checks {@code value} against the kind of setting; the message is for file:line: key: prefixes. */
    static void check(Kind kind, String value) {
        switch (kind) {
            case STRING -> { }
            case COUNT -> Values.parseInt(value, 0, Integer.MAX_VALUE);
            case POSITIVE -> Values.parseInt(value, 1, Integer.MAX_VALUE);
            case PORT -> Values.parseInt(value, 1, 65535);
            case BOOL -> Values.parseBool(value);
            case TIME -> Values.parseSeconds(value);
            case OCTAL_MODE -> Values.parseOctalMode(value);
            case POOL_MODE -> PoolMode.parse(value);
            case AUTH_TYPE -> AuthType.parse(value);
            case SSLMODE -> {
                switch (value.strip().toLowerCase(java.util.Locale.ROOT)) {
                    case "disable", "allow", "prefer", "require", "verify-ca", "verify-full" -> { }
                    default -> throw new IllegalArgumentException("invalid sslmode \"" + value
                            + "\" (expected disable, allow, prefer, require, verify-ca or verify-full)");
                }
            }
            case STATE_POLICY -> {
                String v = value.strip().toLowerCase(java.util.Locale.ROOT);
                if (!v.equals("reset") && !v.equals("close")) {
                    throw new IllegalArgumentException("invalid session_state_policy \"" + value
                            + "\" (expected reset or close)");
                }
            }
            case NAME_LIST -> {
                for (String name : Values.commaList(value)) {
                    if (!name.matches("[A-Za-z_][A-Za-z0-9_.]*")) {
                        throw new IllegalArgumentException("invalid parameter name \"" + name
                                + "\" (letters, digits, '_' and '.' only)");
                    }
                }
            }
            default -> throw new AssertionError(kind);
        }
    }
}
