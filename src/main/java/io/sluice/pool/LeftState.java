package io.sluice.pool;

import java.util.ArrayList;
import java.util.List;

/**
 * Session state a client can leave on a server that outlives its transaction: in transaction
 * and statement modes the next client would inherit it (PgBouncer passes it on silently).
 * Seen in the statements a client sends, by {@code session.StateScan}. session_state_policy
 * decides what is done with a server that has any: reset (the statements below, before it is
 * reused) or close.
 */
public final class LeftState {
    /** A session-level SET (not SET LOCAL), SET ROLE or SET SESSION AUTHORIZATION. */
    public static final int SET = 1;
    /** A session-level advisory lock (pg_advisory_lock, pg_try_advisory_lock and their _shared forms). */
    public static final int ADVISORY_LOCK = 2;
    /** CREATE TEMP (or TEMPORARY) TABLE. */
    public static final int TEMP_TABLE = 4;
    /** LISTEN. */
    public static final int LISTEN = 8;

    private LeftState() {
    }

    /** The kinds in {@code bits}, for the log: "SET, advisory lock". */
    static String describe(int bits) {
        List<String> kinds = new ArrayList<>();
        if ((bits & SET) != 0) {
            kinds.add("SET");
        }
        if ((bits & ADVISORY_LOCK) != 0) {
            kinds.add("advisory lock");
        }
        if ((bits & TEMP_TABLE) != 0) {
            kinds.add("temporary table");
        }
        if ((bits & LISTEN) != 0) {
            kinds.add("LISTEN");
        }
        return String.join(", ", kinds);
    }

    /**
     * The statements that undo {@code bits}: each as narrow as its kind allows, so that what
     * DISCARD ALL would also drop (prepared statements above all) is kept.
     */
    static String[] resetQueries(int bits) {
        List<String> q = new ArrayList<>();
        if ((bits & SET) != 0) {
            // RESET ALL leaves the role and the session user alone.
            q.add("RESET ALL");
            q.add("RESET SESSION AUTHORIZATION");
            q.add("RESET ROLE");
        }
        if ((bits & ADVISORY_LOCK) != 0) {
            q.add("SELECT pg_advisory_unlock_all()");
        }
        if ((bits & TEMP_TABLE) != 0) {
            q.add("DISCARD TEMP");
        }
        if ((bits & LISTEN) != 0) {
            q.add("UNLISTEN *");
        }
        return q.toArray(new String[0]);
    }
}
