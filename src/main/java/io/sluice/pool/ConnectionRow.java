package io.sluice.pool;

import java.net.SocketAddress;

/**
 * One client or server connection as SHOW CLIENTS and SHOW SERVERS list it, taken on its
 * loop. Times are wall-clock milliseconds; {@code link} is the id of the linked connection
 * (0 for none).
 *
 * @param state PgBouncer's word for it: active, idle, waiting, used, tested, new, being_canceled
 * @param waitMicros how long a waiting client has waited (0 otherwise)
 * @param remotePid the backend's pid for a server, 0 for a client
 * @param closeNeeded a server to be replaced once free (RECONNECT, or a reload that changed its login)
 */
public record ConnectionRow(long id, String user, String database, String state, SocketAddress remote,
        SocketAddress local, long connectMillis, long requestMillis, long waitMicros, long link, int remotePid,
        String applicationName, int preparedStatements, boolean closeNeeded, String tls) {
}
