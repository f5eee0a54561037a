package io.sluice.pool;

/** Where a server connection is in its life; each state is one list (or count) of its shard. */
public enum ServerState {
    /** Connecting and logging in (SHOW SERVERS "new"; sv_login). */
    LOGIN,
    /** Logged in, clean, in the idle list (sv_idle). */
    IDLE,
    /** Linked to a client (sv_active). */
    ACTIVE,
    /** Running the reset query or a rollback before going idle again (sv_tested). */
    RESET,
    /**
     * Given back by its client while a CancelRequest for that client's query is on its way to
     * PostgreSQL: given to no one until PostgreSQL has acted on it, or the signal could land on
     * the next client's query (sv_being_canceled).
     */
    CANCELING,
    /** Being closed by Sluice; in no list, still counted against the limits until its socket is gone. */
    CLOSING,
    /** Gone; in no list. */
    CLOSED
}
