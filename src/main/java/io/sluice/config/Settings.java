package io.sluice.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The [pgbouncer] section: every setting's effective value, checked, with typed getters for
 * the ones Sluice uses. Immutable; a reload builds a new one.
 */
public final class Settings {
    /**
     * The settings Sluice acts on. Any other known setting is accepted (so an existing
     * pgbouncer.ini starts) with one start-up warning, because a silently ignored limit or
     * timeout is worse than a noisy one.
     */
    public static final Set<String> IMPLEMENTED = Set.of(
            "listen_addr", "listen_port", "unix_socket_dir", "unix_socket_mode", "auth_type",
            "auth_file", "pool_mode", "max_client_conn",
            "default_pool_size", "min_pool_size", "reserve_pool_size", "reserve_pool_timeout",
            "max_db_connections", "max_user_connections", "server_reset_query",
            "server_reset_query_always", "ignore_startup_parameters", "logfile", "pidfile",
            "max_packet_size", "server_login_retry", "server_connect_timeout",
            "client_login_timeout", "track_extra_parameters", "application_name_add_host",
            "conffile", "job_name", "server_idle_timeout", "server_lifetime", "query_wait_timeout",
            "max_prepared_statements", "log_connections", "log_disconnections", "cancel_wait_timeout",
            "admin_users", "stats_users", "stats_period", "log_stats", "log_pooler_errors", "query_timeout",
            "idle_transaction_timeout", "client_idle_timeout", "transaction_timeout",
            "max_db_client_connections", "max_user_client_connections", "query_wait_notify",
            "server_check_query", "server_check_delay", "server_fast_close", "tcp_keepalive", "tcp_keepidle",
            "tcp_keepintvl", "tcp_keepcnt", "tcp_user_timeout", "tcp_socket_buffer", "tcp_defer_accept",
            "max_unauthenticated_clients", "session_state_policy",
            "client_tls_sslmode", "client_tls_key_file", "client_tls_cert_file", "client_tls_ca_file",
            "client_tls_protocols", "client_tls_ciphers", "client_tls13_ciphers", "client_tls_dheparams",
            "client_tls_ecdhcurve", "server_tls_sslmode", "server_tls_key_file", "server_tls_cert_file",
            "server_tls_ca_file", "server_tls_protocols", "server_tls_ciphers", "server_tls13_ciphers",
            "auth_user", "auth_query", "auth_dbname", "auth_hba_file", "scram_iterations");

    private final Map<String, String> explicit;
    private final Path baseDir;

    private final List<String> listenAddr;
    private final int listenPort;
    private final String unixSocketDir;
    private final int unixSocketMode;
    private final AuthType authType;
    private final Path authFile;
    private final List<String> adminUsers;
    private final List<String> statsUsers;
    private final PoolMode poolMode;
    private final Set<String> ignoreStartupParameters;
    private final Path logfile;
    private final Path pidfile;
    private final List<String> trackExtraParameters;
    // Read at every client login: parsed once here, not per login.
    private final int maxClientConn;
    private final int maxPacketSize;
    private final Duration clientLoginTimeout;
    private final boolean applicationNameAddHost;
    private final TcpSettings tcp;

    /**
     * Checks every explicit entry (file, line and key in the error) and fixes the typed values.
     *
     * @param entries the [pgbouncer] lines that won (the last of each key), known keys only
     * @param baseDir the main config file's directory, for relative paths
     */
    Settings(Map<String, IniEntry> entries, Path baseDir) throws ConfigException {
        Map<String, String> values = new LinkedHashMap<>();
        for (IniEntry e : entries.values()) {
            SettingSpec.Spec spec = SettingSpec.ALL.get(e.key());
            if (spec == null) {
                throw e.error("unknown setting");
            }
            try {
                SettingSpec.check(spec.kind(), e.value());
            } catch (IllegalArgumentException ex) {
                throw e.error(ex.getMessage());
            }
            values.put(e.key(), e.value());
        }
        this.explicit = Collections.unmodifiableMap(values);
        this.baseDir = baseDir;

        String addr = value("listen_addr").strip();
        this.listenAddr = Values.commaList(addr);
        this.listenPort = intValue("listen_port");
        this.unixSocketDir = value("unix_socket_dir").strip();
        this.unixSocketMode = Values.parseOctalMode(value("unix_socket_mode"));
        this.authType = AuthType.parse(value("auth_type"));
        this.authFile = path("auth_file");
        this.adminUsers = Values.commaList(value("admin_users"));
        this.statsUsers = Values.commaList(value("stats_users"));
        this.poolMode = PoolMode.parse(value("pool_mode"));
        Set<String> ignore = new LinkedHashSet<>();
        for (String p : Values.commaList(value("ignore_startup_parameters"))) {
            ignore.add(p.toLowerCase(Locale.ROOT));
        }
        this.ignoreStartupParameters = Collections.unmodifiableSet(ignore);
        this.logfile = path("logfile");
        this.pidfile = path("pidfile");
        this.trackExtraParameters = Values.commaList(value("track_extra_parameters"));
        this.maxClientConn = intValue("max_client_conn");
        this.maxPacketSize = intValue("max_packet_size");
        this.clientLoginTimeout = durationValue("client_login_timeout");
        this.applicationNameAddHost = booleanValue("application_name_add_host");
        this.tcp = TcpSettings.of(this);
    }

    /** Settings of Sluice's own, not PgBouncer's: PgBouncer would refuse a file that has them. */
    public static final Set<String> SLUICE_ONLY = Set.of("max_unauthenticated_clients", "session_state_policy");

    /** Every known setting's name, alphabetical. */
    public static Set<String> knownKeys() {
        return SettingSpec.ALL.keySet();
    }

    /** PgBouncer's default for a known setting ("" where PgBouncer's is unset). */
    public static String defaultValue(String key) {
        return spec(key).defaultValue();
    }

    /** Whether RELOAD can change the setting (false: a restart is needed). */
    public static boolean reloadable(String key) {
        return spec(key).reloadable();
    }

    private static SettingSpec.Spec spec(String key) {
        SettingSpec.Spec spec = SettingSpec.ALL.get(key);
        if (spec == null) {
            throw new IllegalArgumentException("unknown setting: " + key);
        }
        return spec;
    }

    /**
     * The effective value of any known setting as written in the file, or its default.
     *
     * @throws IllegalArgumentException for a key PgBouncer does not know
     */
    public String value(String key) {
        String v = explicit.get(key);
        return v != null ? v : defaultValue(key);
    }

    /** The settings the file sets, as written, in file order. */
    public Map<String, String> explicitValues() {
        return explicit;
    }

    /** The effective value of an integer setting. */
    public int intValue(String key) {
        return Integer.parseInt(value(key).strip());
    }

    /** The effective value of an on/off setting. */
    public boolean booleanValue(String key) {
        return Values.parseBool(value(key));
    }

    /** The effective value of a time setting. */
    public Duration durationValue(String key) {
        return Values.parseSeconds(value(key));
    }

    /** A file setting resolved against the main config file's directory; null when empty. */
    public Path path(String key) {
        String v = value(key).strip();
        if (v.isEmpty()) {
            return null;
        }
        return baseDir == null ? Path.of(v) : baseDir.resolve(v);
    }

    /** TCP addresses to listen on; "*" means all; empty means no TCP listener. */
    public List<String> listenAddr() {
        return listenAddr;
    }

    public int listenPort() {
        return listenPort;
    }

    /** Directory of the Unix socket; "" disables it. */
    public String unixSocketDir() {
        return unixSocketDir;
    }

    /** Permission bits of the Unix socket file. */
    public int unixSocketMode() {
        return unixSocketMode;
    }

    public AuthType authType() {
        return authType;
    }

    /** The userlist file, resolved against the config file's directory; null when unset. */
    public Path authFile() {
        return authFile;
    }

    public List<String> adminUsers() {
        return adminUsers;
    }

    public List<String> statsUsers() {
        return statsUsers;
    }

    public PoolMode poolMode() {
        return poolMode;
    }

    public int maxClientConn() {
        return maxClientConn;
    }

    public int defaultPoolSize() {
        return intValue("default_pool_size");
    }

    public int minPoolSize() {
        return intValue("min_pool_size");
    }

    public int reservePoolSize() {
        return intValue("reserve_pool_size");
    }

    public Duration reservePoolTimeout() {
        return durationValue("reserve_pool_timeout");
    }

    /** 0 = no limit. */
    public int maxDbConnections() {
        return intValue("max_db_connections");
    }

    /** 0 = no limit. */
    public int maxUserConnections() {
        return intValue("max_user_connections");
    }

    public String serverResetQuery() {
        return value("server_reset_query");
    }

    public boolean serverResetQueryAlways() {
        return booleanValue("server_reset_query_always");
    }

    /** Startup parameters to ignore rather than refuse, lower-cased. */
    public Set<String> ignoreStartupParameters() {
        return ignoreStartupParameters;
    }

    /** Null when logging to a file is off. */
    public Path logfile() {
        return logfile;
    }

    /** Null when no pid file is written. */
    public Path pidfile() {
        return pidfile;
    }

    public int maxPacketSize() {
        return maxPacketSize;
    }

    public Duration serverLoginRetry() {
        return durationValue("server_login_retry");
    }

    public Duration serverConnectTimeout() {
        return durationValue("server_connect_timeout");
    }

    public Duration clientLoginTimeout() {
        return clientLoginTimeout;
    }

    /** 0 = wait forever. */
    public Duration queryWaitTimeout() {
        return durationValue("query_wait_timeout");
    }

    public Duration serverIdleTimeout() {
        return durationValue("server_idle_timeout");
    }

    public Duration serverLifetime() {
        return durationValue("server_lifetime");
    }

    /** Parameters tracked beyond the fixed five, as spelled in the file. */
    public List<String> trackExtraParameters() {
        return trackExtraParameters;
    }

    public int maxPreparedStatements() {
        return intValue("max_prepared_statements");
    }

    /** The TCP options of new connections, both sides. */
    public TcpSettings tcp() {
        return tcp;
    }

    public boolean applicationNameAddHost() {
        return applicationNameAddHost;
    }

    public String serverCheckQuery() {
        return value("server_check_query");
    }

    public Duration serverCheckDelay() {
        return durationValue("server_check_delay");
    }

    public int scramIterations() {
        return intValue("scram_iterations");
    }

    public String jobName() {
        return value("job_name");
    }
}
