package io.sluice.session;

import io.netty.channel.Channel;
import io.sluice.auth.Secret;
import io.sluice.pool.ClientNode;
import io.sluice.pool.PoolClient;
import io.sluice.pool.PoolShard;
import io.sluice.pool.ServerConnection;
import io.sluice.protocol.PgReader.ErrorFields;
import java.util.ArrayList;
import java.util.List;

/**
 * One auth_query run for a client logging in: it takes a server of the auth pool (auth_user on
 * auth_dbname, on the client's own loop) as a client would, runs the query with the user name as
 * its parameter, gives the server back and tells the login what it found.
 *
 * <p>The auth pool's servers carry none of any client's start-up parameters and a fixed
 * search_path (see PoolManager.authPool): an unauthenticated client cannot steer the query.
 */
final class AuthLookup implements PoolClient {
    /** What the login hears, once. */
    interface Result {
        /** The query ran: the user's secret, or null when it has none (no row, or a NULL password). */
        void found(Secret secret);

        /** The query could not run or failed; {@code why} is for the log. */
        void failed(String why);
    }

    private final long id;
    private final Channel channel;
    private final PoolShard shard;
    private final String query;
    private final String user;
    private final Result result;
    private final List<String[]> rows = new ArrayList<>();
    private final long startMillis = System.currentTimeMillis();
    private ClientNode node;
    private ServerConnection server;
    private boolean finished;

    AuthLookup(long id, Channel channel, PoolShard shard, String query, String user, Result result) {
        this.id = id;
        this.channel = channel;
        this.shard = shard;
        this.query = query;
        this.user = user;
        this.result = result;
    }

    /** Joins the auth pool and asks for a server (on the client's loop). */
    void start() {
        node = shard.join(this);
        shard.acquire(node);
    }

    /** The client went away first: the server (with the query's reply still owed, it is closed) and the place go back. */
    void abandon() {
        finish(false);
    }

    /**
     * Ends the lookup, once: out of the pool, and the server given back unless it is gone.
     * False when it had ended already.
     */
    private boolean finish(boolean serverGone) {
        if (finished) {
            return false;
        }
        finished = true;
        shard.leave(node);
        ServerConnection s = server;
        server = null;
        if (s != null && !serverGone) {
            shard.release(node, s);
        }
        return true;
    }

    @Override
    public void serverAssigned(ServerConnection s) {
        server = s;
        s.runLookup(query, user, rows);
    }

    @Override
    public void internalQueryDone(ErrorFields error) {
        if (!finish(false)) {
            return;
        }
        if (error != null) {
            result.failed("auth_query failed: " + error);
        } else if (rows.size() > 1) {
            result.failed("auth_query returned " + rows.size() + " rows for one user");
        } else if (!rows.isEmpty() && rows.get(0).length != 2) {
            result.failed("expected 2 columns from auth_query, not " + rows.get(0).length);
        } else if (rows.isEmpty() || rows.get(0)[1] == null || rows.get(0)[1].isEmpty()) {
            // No such role, or one that may not log in now (expired, no password): refused the
            // same way as a wrong password.
            result.found(null);
        } else {
            Secret secret;
            try {
                secret = Secret.parse(rows.get(0)[1]);
            } catch (IllegalArgumentException e) {
                result.failed("auth_query returned a malformed secret: " + e.getMessage());
                return;
            }
            result.found(secret);
        }
    }

    @Override
    public void disconnect(String sqlState, String message) {
        if (finish(false)) {
            result.failed(message);
        }
    }

    @Override
    public void serverLost(String reason, boolean midMessage) {
        if (finish(true)) {
            result.failed(reason);
        }
    }

    // ---- the rest of PoolClient: a lookup relays nothing ----

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public boolean bypassPipeline() {
        return false;
    }

    @Override
    public void notice(String message) {
    }

    @Override
    public boolean withholdsReady() {
        return false;
    }

    @Override
    public void serverReady(byte status) {
    }

    @Override
    public void serverParameter(String name, String value) {
    }

    @Override
    public void notParsed(List<String> names) {
    }

    @Override
    public void serverWritable() {
    }

    @Override
    public ClientNode node() {
        return node;
    }

    @Override
    public ServerConnection linkedServer() {
        return server;
    }

    @Override
    public long requestStartNanos() {
        return 0;
    }

    @Override
    public long transactionStartNanos() {
        return 0;
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public String user() {
        return shard.pool().config().serverUser();
    }

    @Override
    public String database() {
        return shard.pool().config().database();
    }

    @Override
    public long connectMillis() {
        return startMillis;
    }

    @Override
    public String applicationName() {
        return "auth_query";
    }

    @Override
    public int preparedStatements() {
        return 0;
    }

    @Override
    public String logId() {
        return "C-" + id + " (auth_query for a login)";
    }
}
