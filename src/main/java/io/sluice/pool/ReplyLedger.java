package io.sluice.pool;

/**
 * What a server still owes its client: the ReadyForQuery messages due for the requests sent,
 * the end of an extended-protocol batch no Sync has closed, a COPY FROM STDIN under way, and
 * the replies to Sluice's own queries. One call per client message type and per backend
 * message that settles a debt; {@link #owes} is the one answer to "may this server serve
 * someone else?".
 *
 * <p>Everything here was once seven fields of ServerConnection set from six calls plus the
 * statement tracker; four protocol fixes landed in that seam (Syncs ignored by COPY, a client
 * gone mid-message, unsynced batches, internal queries). Keep every rule in this class, and a
 * case for it in ReplyLedgerTest.
 */
public final class ReplyLedger {
    /** The prepared-statement tracker whose reply queue counts ReadyForQuery too; null if untracked. */
    private final ServerStatements statements;
    /** ReadyForQuery messages owed to the client: requests sent, not yet answered. */
    private int pendingReady;
    /**
     * Extended-protocol messages (Parse, Bind, Describe, Execute, Close) that no Sync has closed
     * yet, or a message the client left in the middle of: the backend holds them, and would answer
     * them, or take the next client's bytes as their rest, in the next client's stream.
     */
    private boolean unsynced;
    /** Syncs sent since the last Execute or Query: the ones a COPY FROM STDIN ignores. */
    private int syncsSinceExecute;
    /** The backend is in COPY FROM STDIN until the client's CopyDone or CopyFail, or an error. */
    private boolean copyIn;
    /** ReadyForQuery messages owed to Sluice's own queries; while > 0 replies are not relayed. */
    private int internalPending;

    ReplyLedger(ServerStatements statements) {
        this.statements = statements;
    }

    // ---- client messages ----

    /** Query or FunctionCall: answered with ReadyForQuery, and ends any batch before it. */
    public void query() {
        expectReady();
        unsynced = false;
        syncsSinceExecute = 0;
    }

    /**
     * Sync: answered with ReadyForQuery, except by a backend in COPY FROM STDIN, which ignores
     * Syncs (clients send one after every Execute, not knowing it started a COPY).
     */
    public void sync() {
        if (copyIn) {
            return;
        }
        expectReady();
        unsynced = false;
        syncsSinceExecute++;
    }

    /** Parse, Bind, Describe or Close: the server is the client's until a Sync. */
    public void extended() {
        unsynced = true;
    }

    /** Execute: the server is the client's until a Sync; the Syncs after it may meet a COPY. */
    public void execute() {
        unsynced = true;
        syncsSinceExecute = 0;
    }

    /** CopyDone or CopyFail: a COPY FROM STDIN ends, and Syncs count again. */
    public void copyEnd() {
        copyIn = false;
    }

    /** The client left in the middle of a message: its start is with the backend. */
    public void cutOff() {
        unsynced = true;
    }

    private void expectReady() {
        pendingReady++;
        if (statements != null) {
            statements.expectReady();
        }
    }

    // ---- Sluice's own queries ----

    /** Sluice sent {@code n} simple queries of its own: their replies are not the client's. */
    void internal(int n) {
        internalPending += n;
    }

    /** True while replies to Sluice's own queries are still to come. */
    boolean internalRunning() {
        return internalPending > 0;
    }

    // ---- backend messages ----

    /**
     * CopyInResponse: a COPY FROM STDIN began. The Syncs sent after the Execute that started it
     * reach the backend in copy mode and are ignored: no ReadyForQuery will answer them.
     */
    void copyInBegan() {
        copyIn = true;
        int ignored = Math.min(syncsSinceExecute, pendingReady);
        pendingReady -= ignored;
        if (statements != null) {
            statements.dropLastReady(ignored);
        }
        syncsSinceExecute = 0;
    }

    /** ErrorResponse: it ends a COPY FROM STDIN (the backend then skips to the next Sync). */
    void error() {
        copyIn = false;
    }

    /**
     * ReadyForQuery. Returns true when it answers one of Sluice's own queries (and is not the
     * client's); the caller checks {@link #internalRunning} for whether it was the last.
     */
    boolean ready() {
        if (internalPending > 0) {
            internalPending--;
            return true;
        }
        if (pendingReady > 0 && --pendingReady == 0) {
            syncsSinceExecute = 0;
        }
        return false;
    }

    // ---- questions ----

    /** A reply is still to come (the partial message being read is the connection's to add). */
    boolean owes() {
        return pendingReady > 0 || unsynced || copyIn || internalPending > 0
                || (statements != null && statements.awaitingReplies());
    }

    /**
     * True while a request of the client runs: a query, a Sync'ed or unsynced batch, or a COPY.
     * Only then may a cancel be forwarded: at any other time the backend is idle (PostgreSQL would
     * ignore the signal) or runs Sluice's own query.
     */
    boolean runningClientRequest() {
        return internalPending == 0 && (pendingReady > 0 || unsynced || copyIn);
    }

    @Override
    public String toString() {
        return "ready " + pendingReady + (unsynced ? " unsynced" : "") + (copyIn ? " copy-in" : "")
                + (internalPending > 0 ? " internal " + internalPending : "");
    }
}
