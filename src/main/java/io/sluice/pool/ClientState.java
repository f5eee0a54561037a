package io.sluice.pool;

/**
 * Where a logged-in client is in its pool; each state but CLOSED is one list of its shard.
 * Changed only by {@link PoolShard#move(ClientNode, ClientState)}. (Before login a client is
 * the session layer's login handler's, in none of these.)
 */
public enum ClientState {
    /** No server linked (SHOW CLIENTS "idle"). */
    IDLE,
    /** Queued for a server (cl_waiting). */
    WAITING,
    /** Linked to a server (cl_active). */
    ACTIVE,
    /** Gone; in no list. */
    CLOSED
}
