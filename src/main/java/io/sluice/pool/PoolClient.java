package io.sluice.pool;

import io.netty.channel.Channel;
import io.sluice.protocol.PgReader.ErrorFields;
import java.util.List;

/**
 * What a pool needs from a client session: somewhere to send a server when one is free, and
 * the relay callbacks of the server that serves it. Implemented by the session layer, so the
 * pool never depends on it.
 */
public interface PoolClient {
    /** The client's channel: server bytes are written here. Same event loop as the server. */
    Channel channel();

    /** True when writes to {@link #channel()} may skip its pipeline ({@link io.sluice.protocol.Relay}). */
    boolean bypassPipeline();

    /** A server is now linked to this client (it left the waiting list). */
    void serverAssigned(ServerConnection server);

    /** Sluice ends the client (no server to be had, its pool removed, an admin's KILL): it gets this error and is closed. */
        void disconnect(String sqlState, String message);

    /** Sluice tells the waiting client something (query_wait_notify): a NoticeResponse, the session goes on. */
    void notice(String message);

    /**
     * True when the client wants ReadyForQuery kept back and given to {@link #serverReady} only
     * (statement mode, which must turn a transaction block into an error instead).
     */
    boolean withholdsReady();

    /** ReadyForQuery from the linked server, with its transaction status byte; relayed unless withheld. */
    void serverReady(byte status);

    /** ParameterStatus relayed from the linked server. */
    void serverParameter(String name, String value);

    /** A query Sluice ran on the client's behalf (parameter sync) finished; error is null on success. */
    void internalQueryDone(ErrorFields error);

    /** The client's own Parse of these statement names failed or was skipped after an error. */
    void notParsed(List<String> names);

    /** The linked server can take bytes again (backpressure released). */
    void serverWritable();

    /**
     * The linked server connection closed under the client; {@code midMessage}: in the middle of
     * a message it was relaying, so the client can only be closed, with no error after it.
     */
    void serverLost(String reason, boolean midMessage);

    /** The pool's node for this client, from {@link PoolShard#join}: its state and list. */
    ClientNode node();

    /** The server linked to it now, null for none. */
    ServerConnection linkedServer();

    /** When its running request began (System.nanoTime), 0 when none runs: for query_timeout. */
    long requestStartNanos();

    /** When its open transaction began (System.nanoTime), 0 when none is open: for transaction_timeout. */
    long transactionStartNanos();

    /** Its number, as in {@code C-12} and SHOW CLIENTS' id. */
    long id();

    /** The user it logged in as and the database it asked for (SHOW CLIENTS). */
    String user();

    String database();

    /** When it connected, wall-clock milliseconds. */
    long connectMillis();

    /** Its application_name now, "" when unset. */
    String applicationName();

    /** Prepared statements it holds under its own names (0 when they are not tracked). */
    int preparedStatements();

    /** Identity for logs, e.g. {@code C-12 db/user@127.0.0.1:5544}. */
    String logId();
}
