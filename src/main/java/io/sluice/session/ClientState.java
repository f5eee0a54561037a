package io.sluice.session;

/** Where a client connection is in its life. Changed only by {@code ClientSession.move}. */
public enum ClientState {
    /** Before a StartupMessage (SSLRequest may come first). */
    STARTUP,
    /** Exchanging authentication messages. */
    AUTH,
    /** Logged in, no server linked (SHOW CLIENTS "idle"). */
    IDLE,
    /** Queued for a server (cl_waiting). */
    WAITING,
    /** Linked to a server (cl_active). */
    ACTIVE,
    /** Gone. */
    CLOSED
}
