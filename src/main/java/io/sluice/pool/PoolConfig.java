package io.sluice.pool;

import io.sluice.auth.Secret;
import io.sluice.config.PoolMode;
import java.time.Duration;
import java.util.Map;

/**
 * Everything one pool needs, resolved once from the config: the settings of the database
 * entry, the user entry and the [pgbouncer] section, in PgBouncer's order of precedence.
 *
 * @param serverUser the role logged into PostgreSQL (the forced user, else the client's user)
 * @param serverSecret what to log in with: null for none (trust), else plain, md5 or SCRAM
 * @param host a host name, or a directory path for a Unix socket
 * @param startupParameters sent to PostgreSQL in every server StartupMessage
 */
public record PoolConfig(
        String database,
        String user,
        String serverUser,
        Secret serverSecret,
        String serverDatabase,
        String host,
        int port,
        Map<String, String> startupParameters,
        PoolMode poolMode,
        int poolSize,
        int minPoolSize,
        int reservePoolSize,
        Duration reservePoolTimeout,
        String connectQuery,
        String resetQuery,
        boolean resetQueryAlways,
        Duration serverLoginRetry,
        Duration serverConnectTimeout,
        Duration queryWaitTimeout,
        Duration serverIdleTimeout,
        Duration serverLifetime,
        int maxPreparedStatements,
        Duration queryTimeout,
        Duration idleTransactionTimeout,
        Duration clientIdleTimeout,
        Duration transactionTimeout,
        /** query_wait_notify: a client waiting this long is told so; zero: never. */
        Duration queryWaitNotify,
        /** server_check_query: run on a server idle longer than serverCheckDelay before reuse; "" for none. */
        String serverCheckQuery,
        Duration serverCheckDelay,
        /** server_fast_close: in session mode, servers to be replaced close at the end of the transaction. */
        boolean serverFastClose,
        /** tcp_keepalive and the other tcp_* settings for new server connections. */
        io.sluice.config.TcpSettings tcp,
        /** session_state_policy close: a server left with session state is closed instead of reset. */
        boolean closeLeftState,
        /** server_tls_*: how servers on TCP are asked for TLS, and what is checked. */
        io.sluice.tls.ServerTls serverTls) {

    /** Whether named prepared statements are tracked and rewritten (transaction and statement modes). */
    public boolean tracksPreparedStatements() {
        return poolMode != PoolMode.SESSION && maxPreparedStatements > 0;
    }

    /**
     * True when a server logged in under {@code other} is as good as one logged in under this:
     * the same target, role, secret, start-up parameters, connect_query and TLS. Otherwise a reload
     * replaces the pool's servers.
     */
    public boolean sameServerLogin(PoolConfig other) {
        return java.util.Objects.equals(serverUser, other.serverUser)
                && java.util.Objects.equals(serverSecret, other.serverSecret)
                && java.util.Objects.equals(serverDatabase, other.serverDatabase)
                && java.util.Objects.equals(host, other.host) && port == other.port
                && java.util.Objects.equals(startupParameters, other.startupParameters)
                && java.util.Objects.equals(connectQuery, other.connectQuery)
                && java.util.Objects.equals(serverTls, other.serverTls);
    }

    @Override
    public String toString() {
        return database + "/" + user;
    }
}
