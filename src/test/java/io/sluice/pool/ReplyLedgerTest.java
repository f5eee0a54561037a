package io.sluice.pool;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.protocol.BackendCodes;
import org.junit.jupiter.api.Test;

/**
 * What a server owes its client, message by message, for each flow whose end decides whether
 * the server may go to another client: a server given away while it owes anything hands the
 * rest of one client's reply to the next.
 */
class ReplyLedgerTest {
    private final ReplyLedger owed = new ReplyLedger(null);

    @Test
    void simpleQueryIsOwedUntilItsReadyForQuery() {
        assertThat(owed.owes()).isFalse();
        owed.query();
        assertThat(owed.owes()).isTrue();
        assertThat(owed.runningClientRequest()).isTrue();
        assertThat(owed.ready()).as("the client's reply, not Sluice's").isFalse();
        assertThat(owed.owes()).isFalse();
        assertThat(owed.runningClientRequest()).isFalse();
    }

    @Test
    void pipelinedQueriesAreOwedUntilTheLastReply() {
        owed.query();
        owed.query();
        owed.query();
        owed.ready();
        owed.ready();
        assertThat(owed.owes()).isTrue();
        owed.ready();
        assertThat(owed.owes()).isFalse();
    }

    @Test
    void extendedBatchWithoutSyncIsOwedUntilSyncedAndAnswered() {
        owed.extended(); // Parse
        owed.extended(); // Bind
        owed.execute();
        assertThat(owed.owes()).as("unsynced: the backend holds the batch").isTrue();
        assertThat(owed.runningClientRequest()).isTrue();
        owed.sync();
        assertThat(owed.owes()).isTrue();
        owed.ready();
        assertThat(owed.owes()).isFalse();
    }

    @Test
    void describeWithoutSyncIsOwedToo() {
        owed.extended();
        assertThat(owed.owes()).isTrue();
    }

    @Test
    void copyFromStdinIgnoresTheSyncsSentAfterItsExecute() {
        // Parse/Bind/Execute/Sync/Sync as a driver pipelines it; the Execute starts a COPY.
        owed.extended();
        owed.extended();
        owed.execute();
        owed.sync();
        owed.sync();
        owed.copyInBegan();
        assertThat(owed.owes()).as("in COPY").isTrue();
        // CopyData..., CopyDone, then the client's Sync after it: one ReadyForQuery.
        owed.copyEnd();
        owed.sync();
        assertThat(owed.owes()).isTrue();
        owed.ready();
        assertThat(owed.owes()).as("no ReadyForQuery left for the ignored Syncs").isFalse();
    }

    @Test
    void syncsDuringCopyInAreNotCounted() {
        owed.query(); // COPY t FROM STDIN
        owed.copyInBegan();
        owed.sync();
        owed.sync();
        owed.copyEnd();
        owed.ready();
        assertThat(owed.owes()).isFalse();
    }

    @Test
    void errorEndsACopyIn() {
        owed.query();
        owed.copyInBegan();
        owed.error();
        assertThat(owed.owes()).as("the query's ReadyForQuery is still due").isTrue();
        owed.ready();
        assertThat(owed.owes()).isFalse();
    }

    @Test
    void queryAfterExecuteResetsTheSyncCount() {
        owed.execute();
        owed.sync();
        owed.query(); // its COPY ignores no Sync: the earlier one was before the Query
        owed.copyInBegan();
        owed.copyEnd();
        owed.ready();
        owed.ready();
        assertThat(owed.owes()).isFalse();
    }

    @Test
    void clientCutOffMidMessageOwesForEver() {
        owed.cutOff();
        assertThat(owed.owes()).isTrue();
    }

    @Test
    void sluicesOwnQueriesAreOwedButNotTheClients() {
        owed.internal(2);
        assertThat(owed.owes()).isTrue();
        assertThat(owed.internalRunning()).isTrue();
        assertThat(owed.runningClientRequest()).as("a cancel must not hit Sluice's own query").isFalse();
        assertThat(owed.ready()).isTrue();
        assertThat(owed.internalRunning()).isTrue();
        assertThat(owed.ready()).isTrue();
        assertThat(owed.internalRunning()).isFalse();
        assertThat(owed.owes()).isFalse();
    }

    @Test
    void internalRepliesComeBeforeTheClientsQueuedBehindThem() {
        owed.internal(1);
        owed.query();
        assertThat(owed.ready()).isTrue();
        assertThat(owed.owes()).isTrue();
        assertThat(owed.ready()).isFalse();
        assertThat(owed.owes()).isFalse();
    }

    @Test
    void trackedStatementsKeepItOwedUntilTheirRepliesCome() {
        ServerStatements statements = new ServerStatements(10);
        ReplyLedger tracked = new ReplyLedger(statements);
        statements.expect(BackendCodes.PARSE_COMPLETE, ServerStatements.Reply.HIDE, "s1");
        assertThat(tracked.owes()).isTrue();
        tracked.sync();
        tracked.ready();
        statements.onReady();
        assertThat(tracked.owes()).isFalse();
    }
}
