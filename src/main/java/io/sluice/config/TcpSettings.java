package io.sluice.config;

/**
 * The TCP settings every new client and server connection gets: tcp_keepalive, tcp_keepidle,
 * tcp_keepintvl, tcp_keepcnt (seconds and a count), tcp_user_timeout (milliseconds) and
 * tcp_socket_buffer (bytes). A 0 leaves the system's default, as in PgBouncer.
 */
public record TcpSettings(boolean keepalive, int keepIdle, int keepInterval, int keepCount, int userTimeoutMillis,
        int socketBuffer) {

    static TcpSettings of(Settings s) {
        return new TcpSettings(s.booleanValue("tcp_keepalive"), s.intValue("tcp_keepidle"),
                s.intValue("tcp_keepintvl"), s.intValue("tcp_keepcnt"), s.intValue("tcp_user_timeout"),
                s.intValue("tcp_socket_buffer"));
    }
}
