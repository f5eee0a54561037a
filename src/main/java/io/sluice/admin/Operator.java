package io.sluice.admin;

/**
 * What the console asks of the running process, which the server layer owns: reloading the
 * config, shutting down, and the process-wide figures the pools do not hold.
 */
public interface Operator {
    /** How SHUTDOWN ends the process. */
    enum Shutdown {
        /** At once: every connection closed. */
        IMMEDIATE,
        /** Once every server connection is released and closed (SIGINT). */
        WAIT_FOR_SERVERS,
        /** Once every client has disconnected (SIGTERM). */
        WAIT_FOR_CLIENTS
    }

    /** RELOAD: null on success, else why it failed (the running config is then kept whole). */
    String reload();

    /** SHUTDOWN in one of its modes; may be called again to change the mode. */
    void shutdown(Shutdown mode);

    /** True once a shutdown has begun. */
    boolean shuttingDown();

    /** Client sockets now, from accept, logged in or not, consoles included. */
    int clientConnections();

    /** The TCP port Sluice listens on (SHOW DATABASES gives it as the admin database's port). */
    int listenPort();
}
