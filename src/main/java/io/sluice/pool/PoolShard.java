package io.sluice.pool;

import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.sluice.config.PoolMode;
import io.sluice.protocol.PgReader.ErrorFields;
import io.sluice.protocol.SqlState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The part of a {@link Pool} that lives on one event loop: its servers by state and its
 * waiting clients, in FIFO order. Touched only from its loop, so it needs no locks; other
 * loops reach it through {@code loop().execute}.
 *
 * <p>A server's state is its {@code state} field and the list of this shard it sits on, one
 * list per state but CLOSED: {@link #move} is the one method that changes both, so counts are
 * list sizes and SHOW SERVERS, KILL and timeouts are walks of lists. Only {@link #open} puts a
 * new server in, on the LOGIN list.
 */
public final class PoolShard {
    private static final Logger log = LoggerFactory.getLogger(PoolShard.class);

    private final Pool pool;
    final int index;
    private final EventLoop loop;
    private final ServerConnector connector;

    /** The servers in each state, by {@link ServerState#ordinal}; CLOSED has none (null). */
    final ServerList[] servers = new ServerList[ServerState.values().length];
    /** Idle servers, most recently used last: taken LIFO so warm connections stay warm. */
    final ServerList idle;
    final ServerList login;
    /** The logged-in clients in each state, by {@link ClientState#ordinal}; CLOSED has none (null). */
    final ClientList[] clients = new ClientList[ClientState.values().length];
    /** Clients waiting for a server, first come first served. */
    final ClientList waiters;

    /** Read by other loops to route freed slots and donations; written only here. */
    volatile int waitingCount;
    volatile long oldestWaitNanos;
    volatile int idleCount;
    /** Clients wait here that no login in progress will serve: a free slot should come here. */
    volatile boolean starved;
    /** Servers this shard holds in any state: with none, its waiters can only be served from elsewhere. */
    volatile int serverTotal;

    /**
     * How long waiters on a loop that has servers of its own wait for one of them before
     * another loop gives up a server for them (closing it there, opening one here). Shorter
     * means more reconnects under uneven load; longer, more wait. A transaction normally ends
     * well within it.
     */
    private static final long REBALANCE_AFTER_NANOS = 5_000_000;

    PoolShard(Pool pool, int index, EventLoop loop, ServerConnector connector) {
        this.pool = pool;
        this.index = index;
        this.loop = loop;
        this.connector = connector;
        for (ServerState st : ServerState.values()) {
            if (st != ServerState.CLOSED) {
                servers[st.ordinal()] = new ServerList();
            }
        }
        for (ClientState st : ClientState.values()) {
            if (st != ClientState.CLOSED) {
                clients[st.ordinal()] = new ClientList();
            }
        }
        this.waiters = clients[ClientState.WAITING.ordinal()];
        this.idle = servers[ServerState.IDLE.ordinal()];
        this.login = servers[ServerState.LOGIN.ordinal()];
    }

    public Pool pool() {
        return pool;
    }

    public EventLoop loop() {
        return loop;
    }

    /** Servers of this shard in {@code state} now (0 for CLOSED). */
    public int serverCount(ServerState state) {
        ServerList l = servers[state.ordinal()];
        return l == null ? 0 : l.size();
    }

    /** Calls {@code action} for each server of this shard in {@code state}, oldest first. */
    public void forEachServer(ServerState state, java.util.function.Consumer<ServerConnection> action) {
        ServerList l = servers[state.ordinal()];
        if (l != null) {
            l.forEach(action);
        }
    }

    public int waitingCount() {
        return waiters.size();
    }

    /** Logged-in clients of this shard in {@code state} now (0 for CLOSED). */
    public int clientCount(ClientState state) {
        ClientList l = clients[state.ordinal()];
        return l == null ? 0 : l.size();
    }

    /** Calls {@code action} for each client of this shard in {@code state}, in the order they entered it. */
    public void forEachClient(ClientState state, java.util.function.Consumer<ClientNode> action) {
        ClientList l = clients[state.ordinal()];
        if (l != null) {
            l.forEach(action);
        }
    }

    /** This shard now, on its loop: see {@link ShardSnapshot#of}. */
    ShardSnapshot snapshot(boolean rows) {
        return ShardSnapshot.of(this, rows);
    }

    /** The one place a client's state changes, with the list it sits on and since when. */
    void move(ClientNode n, ClientState to, long now) {
        ClientState from = n.state;
        if (from == ClientState.CLOSED) {
            throw new IllegalStateException(n.client().logId() + " is closed");
        }
        clients[from.ordinal()].remove(n);
        if (to != ClientState.CLOSED) {
            clients[to.ordinal()].addLast(n);
        }
        n.state = to;
        n.sinceNanos = now;
        n.waitNotified = false;
        if (from == ClientState.WAITING || to == ClientState.WAITING) {
            publish();
        }
    }

    /** The one place a server's state changes, with the list it sits on. */
    void move(ServerConnection s, ServerState to) {
        ServerState from = s.state;
        if (from == ServerState.CLOSED) {
            throw new IllegalStateException(s.logId() + " is closed");
        }
        servers[from.ordinal()].remove(s);
        if (to != ServerState.CLOSED) {
            servers[to.ordinal()].addLast(s);
        }
        if (to == ServerState.IDLE) {
            // Idle since: for server_idle_timeout and server_check_delay.
            s.stateSinceNanos = System.nanoTime();
        } else if (to == ServerState.CLOSING) {
            pool.closing.incrementAndGet();
        }
        // Leaving CLOSING means CLOSED: serverClosed uncounts it, after its slot.
        s.state = to;
        publish();
    }

    /** Takes a server out of service and closes it; the slot frees when its socket is gone. */
    void retire(ServerConnection s, String reason) {
        if (s.state != ServerState.CLOSING && s.state != ServerState.CLOSED) {
            move(s, ServerState.CLOSING);
        }
        s.close(reason);
    }

    /**
     * Retires {@code s} unless the pool, counted without the servers already closing on any
     * loop, is at min_pool_size. The check and the count are one step for all loops: each loop's
     * upkeep retiring what had timed out in the same second went below the minimum, and then
     * opened it again.
     */
    void retireAboveMin(ServerConnection s, int min, String reason) {
        synchronized (pool.closing) {
            if (pool.liveServerCount() <= min) {
                return;
            }
            move(s, ServerState.CLOSING);
        }
        s.close(reason);
    }

    /** Clients of this pool on this loop (logged in, not gone): its claim on the pool's servers. */
    volatile int clientCount;

    /** A client of this pool logged in on this loop: it starts IDLE; keep the node it gets. */
    public ClientNode join(PoolClient client) {
        assert loop.inEventLoop();
        ClientNode n = new ClientNode(client, System.nanoTime());
        clients[ClientState.IDLE.ordinal()].addLast(n);
        clientCount++;
        return n;
    }

    /**
     * A client of this pool on this loop is gone: out of its list (the waiting one included).
     * A server it held is given back with {@link #release} after this.
     */
    public void leave(ClientNode n) {
        assert loop.inEventLoop();
        if (n.state != ClientState.CLOSED) {
            move(n, ClientState.CLOSED, n.sinceNanos);
            clientCount--;
        }
    }

    /**
     * True when a server closed on another loop for these waiters is worth the reconnect:
     * at once when this loop has no server at all; after a short wait when it has fewer than
     * its share of the pool (by its share of the pool's clients, rounded down). Without the
     * share rule two busy loops would hand servers back and forth, each handoff a new
     * PostgreSQL backend; rounding down both ways is what keeps it from oscillating.
     */
    boolean needsServerFromElsewhere(long now) {
        if (!starved) {
            return false;
        }
        if (serverTotal == 0) {
            return true;
        }
        return serverTotal < pool.share(this) && now - oldestWaitNanos > REBALANCE_AFTER_NANOS;
    }

    /** True when this loop holds more than its share of the pool and may give a server up. */
    boolean holdsMoreThanShare() {
        return serverTotal > pool.share(this);
    }

    /** Waiting with no server coming, for long enough: any pool sharing a full limit should yield one. */
    boolean starvedForLimit(long now) {
        return starved && (serverTotal == 0 || now - oldestWaitNanos > REBALANCE_AFTER_NANOS);
    }

    /** Updates what other loops may read of this shard. */
    private void publish() {
        // Each volatile store is a fence, and a store to a line another loop reads costs that
        // loop a cache miss: only what changed is written (twice per transaction, most don't).
        int total = login.size() + idle.size() + servers[ServerState.ACTIVE.ordinal()].size()
                + servers[ServerState.RESET.ordinal()].size() + servers[ServerState.CANCELING.ordinal()].size();
        if (serverTotal != total) {
            serverTotal = total;
        }
        if (idleCount != idle.size()) {
            idleCount = idle.size();
        }
        if (waitingCount != waiters.size()) {
            waitingCount = waiters.size();
        }
        boolean nowStarved = waiters.size() > login.size();
        if (starved != nowStarved) {
            starved = nowStarved;
        }
        ClientNode head = waiters.peekFirst();
        long oldest = head == null ? 0 : head.sinceNanos();
        if (oldestWaitNanos != oldest) {
            oldestWaitNanos = oldest;
        }
    }

    // ---- clients ----

    /**
     * Gives an idle client a server now, or queues it. If the pool's last login failed within
     * server_login_retry and no server is up, the client gets that error at once.
     */
    public void acquire(ClientNode n) {
        assert loop.inEventLoop();
        if (n.state != ClientState.IDLE) {
            throw new IllegalStateException(n.client().logId() + " is " + n.state);
        }
        ServerConnection s = idle.peekLast();
        while (s != null && (!s.channel().isActive() || s.generation != pool.generation())) {
            // Closed by PostgreSQL (or a network error) in this very loop turn: its
            // channelInactive, which takes it off the list, is a task away. Or logged in under
            // settings a reload or RECONNECT just replaced, before this loop has heard of it.
            retire(s, s.channel().isActive() ? "database configuration changed" : "server closed the connection");
            s = idle.peekLast();
        }
        long now = System.nanoTime();
        if (s != null && !pool.paused()) {
            PoolConfig cfg = pool.config();
            if (!cfg.serverCheckQuery().isEmpty() && now - s.stateSinceNanos >= cfg.serverCheckDelay().toNanos()) {
                // Idle past server_check_delay: server_check_query first, as in PgBouncer. The
                // client waits for it; a server that fails it is closed and another opened.
                move(n, ClientState.WAITING, now);
                move(s, ServerState.RESET);
                s.check(cfg.serverCheckQuery());
                return;
            }
            assign(s, n, now);
            return;
        }
        Pool.FailedLogin failure = pool.lastLoginFailure();
        if (failure != null && pool.serverCount() == 0 && !failure.error().cannotConnectNow()
                && now - failure.atNanos() < pool.config().serverLoginRetry().toNanos()) {
            n.client().disconnect(SqlState.PROTOCOL_VIOLATION,
                    "server login has been failing, cached error: " + failure.error().message()
                            + " (server_login_retry)");
            return;
        }
        move(n, ClientState.WAITING, now);
        openForWaiters();
        if (waiters.size() > login.size()) {
            pool.requestDonation(this);
        }
    }

    /**
     * The client is done with its server (and, if still here, becomes IDLE). A server with a
     * reply outstanding is closed: its bytes can't be told apart from the next client's. One
     * inside a transaction is rolled back; then the reset query runs (session mode, or
     * server_reset_query_always).
     */
    public void release(ClientNode n, ServerConnection s) {
        assert loop.inEventLoop();
        if (n.state == ClientState.ACTIVE) {
            move(n, ClientState.IDLE, n.sinceNanos);
        }
        s.unlink();
        if (s.state != ServerState.ACTIVE) {
            return;
        }
        if (s.owesReply()) {
            // Cancel first: a backend busy in a long query does not notice a closed socket
            // until the query ends, and would hold its slot in PostgreSQL until then.
            if (s.processId() != 0) {
                connector.cancel(s, outcome -> { });
            }
            retire(s, "client disconnect while server was not ready");
            return;
        }
        if (s.cancelUncertain) {
            retire(s, "a cancel request for it went unanswered (cancel_wait_timeout)");
            return;
        }
        if (s.cancelsInFlight > 0) {
            // Reused by cancel()'s completion once PostgreSQL has acted on every one of them.
            move(s, ServerState.CANCELING);
            return;
        }
        reuse(s);
    }

    /** Sends a cancel for {@code s}'s running query and does not wait for its outcome (the server is closing). */
    void cancelAndForget(ServerConnection s) {
        connector.cancel(s, outcome -> { });
    }

    /** A server its client gave back clean: rolled back, reset or freed, by the pool's rules. */
    private void reuse(ServerConnection s) {
        if (s.generation != pool.generation()) {
            // Logged in under settings a reload replaced: no rollback or reset is worth running.
            retire(s, "database configuration changed");
            return;
        }
        PoolConfig cfg = pool.config();
        boolean runReset = !cfg.resetQuery().isEmpty()
                && (cfg.poolMode() == PoolMode.SESSION || cfg.resetQueryAlways());
        if (runReset && s.statements() != null && ServerStatements.resetDrops(cfg.resetQuery())) {
            // DISCARD ALL (or whatever the reset does) may drop prepared statements: re-prepare.
            s.statements().clear();
        }
        if (!runReset && !s.isInTransaction() && s.leftState == 0) {
            serverFree(s);  // the common case: nothing to run
            return;
        }
        List<String> queries = new ArrayList<>(6);
        if (s.isInTransaction()) {
            queries.add("ROLLBACK");
        }
        if (runReset) {
            queries.add(cfg.resetQuery());
        } else if (s.leftState != 0) {
            if (!undoLeftState(s, cfg, queries)) {
                return;
            }
        }
        s.leftState = 0;
        s.leftStateBy = null;
        if (queries.isEmpty()) {
            serverFree(s);
        } else {
            move(s, ServerState.RESET);
            s.runInternal(queries.toArray(new String[0]));
        }
    }

    /**
     * session_state_policy for a server a client left session state on, with no reset query to
     * undo it: {@code reset} adds the statements that undo it to {@code queries}; {@code close}
     * closes the server (false: nothing more to do with it). Logged once per client and kind.
     */
    private boolean undoLeftState(ServerConnection s, PoolConfig cfg, List<String> queries) {
        int bits = s.leftState;
        ClientNode by = s.leftStateBy;
        String kinds = LeftState.describe(bits);
        if (by == null || (by.leftStateLogged & bits) != bits) {
            if (by != null) {
                by.leftStateLogged |= bits;
            }
            log.info("{} left session state on {} ({}): {}", by == null ? "a client" : by.client().logId(),
                    s.logId(), kinds, cfg.closeLeftState() ? "closing the server" : "reset before reuse");
        }
        if (cfg.closeLeftState()) {
            retire(s, "session state left by a client (" + kinds + ")");
            return false;
        }
        Collections.addAll(queries, LeftState.resetQueries(bits));
        if ((bits & LeftState.SET) != 0 && cfg.connectQuery() != null && !cfg.connectQuery().isBlank()) {
            // RESET ALL also undid what connect_query set when the server logged in.
            queries.add(cfg.connectQuery());
        }
        return true;
    }

    /**
     * Forwards a client's CancelRequest to {@code s}, the server running that client's query;
     * {@code requesterDone} runs on this loop once it is over (the requester's connection is
     * then closed, which tells libpq's PQcancel the cancel was delivered). Until PostgreSQL has
     * acted on it, {@code s} goes to no other client: the CancelRequest travels on a connection
     * of its own, and a signal that arrived after the query ended, with the server given to
     * another client, cancelled that client's query instead (about 40 of 500 cancels, in a race
     * of one client's short queries against four others on a one-server pool).
     */
    public void cancel(ServerConnection s, Runnable requesterDone) {
        assert loop.inEventLoop();
        s.cancelsInFlight++;
        connector.cancel(s, outcome -> {
            s.cancelsInFlight--;
            if (outcome == ServerConnector.CancelOutcome.TIMED_OUT) {
                s.cancelUncertain = true;
            }
            requesterDone.run();
            if (s.state == ServerState.CANCELING) {
                if (s.cancelUncertain) {
                    retire(s, "a cancel request for it went unanswered (cancel_wait_timeout)");
                } else if (s.cancelsInFlight == 0) {
                    reuse(s);
                }
            }
        });
    }

    private void assign(ServerConnection s, ClientNode n, long now) {
        pool.metrics().serverAssigned(n.state == ClientState.WAITING ? now - n.sinceNanos : 0);
        move(n, ClientState.ACTIVE, now);
        move(s, ServerState.ACTIVE);
        s.link(n.client());
        n.client().serverAssigned(s);
    }

    // ---- servers ----

    void loginDone(ServerConnection s) {
        pool.loginSucceeded();
        pool.rememberWelcome(s.parameters());
        log.info("{} new connection to server (from {}), backend pid {}", s.logId(),
                io.sluice.protocol.SocketNames.hostPort(s.channel().localAddress()), s.processId());
        // A new server first serves a client of the loop that opened it. Handed on at once, it
        // served no one: two loops each short of their only server traded the slot for ever,
        // a new PostgreSQL backend each time (pool_size under the loops with waiting clients).
        if (!serveFirstWaiter(s)) {
            serverFree(s);
        }
    }

    private boolean serveFirstWaiter(ServerConnection s) {
        ClientNode w = waiters.peekFirst();
        if (w == null) {
            return false;
        }
        assign(s, w, System.nanoTime());
        return true;
    }

    void resetDone(ServerConnection s) {
        serverFree(s);
    }

    /** A clean server: to the first waiter here, else closed if wanted on another loop, else idle. */
    private void serverFree(ServerConnection s) {
        if (s.generation != pool.generation()) {
            retire(s, "database configuration changed");
            return;
        }
        if (pool.paused()) {
            retire(s, "pause mode");
            return;
        }
        PoolConfig cfg = pool.config();
        if (pool.liveServerCount() > cfg.poolSize() + cfg.reservePoolSize()) {
            // pool_size lowered by a reload: the servers above it go as they come free.
            retire(s, "pool_size lowered");
            return;
        }
        long lifetime = cfg.serverLifetime().toNanos();
        if (s.lifetimeOver(System.nanoTime(), lifetime)) {
            // Checked here too: under steady load a server goes from client to client and is
            // never idle for upkeep to see it.
            retire(s, "server lifetime over");
            return;
        }
        // Before this loop's own waiters: under load they always exist, and a loop below its
        // share of the pool would otherwise wait until the load ends.
        if (pool.starvedOnOtherLoop(this)) {
            // Servers can't change loops: free the slot so the starved loop opens its own.
            retire(s, "slot handed to another event loop's waiting client");
            return;
        }
        if (serveFirstWaiter(s)) {
            return;
        }
        if (pool.starvedInSharedLimit()) {
            retire(s, "slot handed to another pool of the same database or user");
            return;
        }
        move(s, ServerState.IDLE);
    }

    void serverClosed(ServerConnection s, String reason) {
        ServerState was = s.state;
        if (was == ServerState.CLOSED) {
            return;
        }
        move(s, ServerState.CLOSED);
        log.info("{} closing because: {} (age={}s)", s.logId(), reason, s.ageSeconds());
        if (was == ServerState.LOGIN) {
            ErrorFields err = s.loginError();
            if (err == null) {
                // Closed under its login with no error said (the reason is in the log above).
                err = new ErrorFields("FATAL", SqlState.PROTOCOL_VIOLATION, "server conn crashed?", null, null);
            }
            loginFailed(err);
        }
        pool.releaseSlot();
        if (was == ServerState.CLOSING) {
            // After the slot: the pool's live count may read low for a moment, never high.
            pool.closing.decrementAndGet();
        }
    }

    /**
     * A login of this pool failed: its waiting clients, on every loop, get the error (as
     * PgBouncer's do), and no login is tried again for server_login_retry.
     */
    private void loginFailed(ErrorFields err) {
        pool.loginFailed(err);
        failWaiters(err);
        pool.onOtherShards(this, s -> s.failWaiters(err));
    }

    /**
     * Every client waiting here gets the server's own login error, as PgBouncer does; except
     * "cannot connect now" (PostgreSQL starting up or recovering): those clients stay queued while
     * the login is tried again (upkeep, each second), until query_wait_timeout, as in PgBouncer.
     */
    private void failWaiters(ErrorFields err) {
        if (err.cannotConnectNow()) {
            return;
        }
        String state = err.sqlState() != null ? err.sqlState() : SqlState.PROTOCOL_VIOLATION;
        // Only as many waiters as are not covered by logins still in progress.
        while (waiters.size() > login.size()) {
            ClientNode w = waiters.peekLast();
            move(w, ClientState.IDLE, w.sinceNanos);
            w.client().disconnect(state, err.message());
        }
    }

    /**
     * Opens servers while waiters outnumber logins in progress and the limits allow. While
     * PostgreSQL answers "cannot connect now", one login at a time: the waiters are held for it.
     */
    void openForWaiters() {
        if (pool.paused()) {
            // PAUSE: clients queue until RESUME; no server is opened for them meanwhile.
            return;
        }
        Pool.FailedLogin failure = pool.lastLoginFailure();
        if (failure != null && failure.error().cannotConnectNow()) {
            // One login for the whole pool about once a second, not one per waiting client.
            if (waiters.size() > login.size() && pool.mayRetryLogin(failure, System.nanoTime()) && pool.tryReserve(false)) {
                open();
            }
            return;
        }
        if (failure != null && System.nanoTime() - failure.atNanos() < pool.config().serverLoginRetry().toNanos()) {
            // As PgBouncer: no new login within server_login_retry of a failed one, whichever
            // loop asks (a freed slot, upkeep). Servers already up serve the waiters meanwhile;
            // upkeep opens again once the time has passed.
            return;
        }
        // Servers running a reset or check will be free in a moment: like logins, they cover
        // waiters (PgBouncer's "tested" servers), so a client that waits out its own server's
        // reset does not open a second one.
        while (waiters.size() > login.size() + servers[ServerState.RESET.ordinal()].size()) {
            ClientNode head = waiters.peekFirst();
            boolean reserve = System.nanoTime() - head.sinceNanos()
                    >= pool.config().reservePoolTimeout().toNanos() && pool.config().reservePoolSize() > 0;
            if (!pool.tryReserve(reserve)) {
                return;
            }
            open();
        }
    }

    /** Closes one idle server so that a loop with waiting clients can open one, if this loop can spare it. */
    void donateIdle() {
        if (holdsMoreThanShare()) {
            donateIdleAlways();
        }
    }

    /** Closes one idle server for a loop (or pool) that has none at all. */
    void donateIdleAlways() {
        ServerConnection s = idle.peekFirst();
        if (s != null && waiters.isEmpty()) {
            retire(s, "slot handed to another event loop's waiting client");
        }
    }

    void open() {
        ServerConnection s = new ServerConnection(this);
        login.addLast(s);
        publish();
        ChannelFuture f = connector.connect(loop, pool.config(), s);
        f.addListener(done -> {
            if (!done.isSuccess()) {
                // The details (address, errno, transport) are for the log; clients get
                // PgBouncer's words for it, through the cached error of server_login_retry.
                log.warn("{} could not connect to server {}:{}: {}", pool, pool.config().host(),
                        pool.config().port(), done.cause().getMessage());
                if (s.state == ServerState.LOGIN) {
                    serverClosedBeforeActive(s);
                }
            }
        });
    }

    /**
     * What clients are told of a server that could not be reached, in PgBouncer's words: waiting
     * clients get it as is, later ones as its "cached error" (see {@link #acquire}).
     */
    private static final ErrorFields CONNECT_FAILED =
            new ErrorFields("FATAL", SqlState.PROTOCOL_VIOLATION, "connect failed", null, null);

    /** A connect that failed never reaches channelInactive. */
    private void serverClosedBeforeActive(ServerConnection s) {
        move(s, ServerState.CLOSED);
        loginFailed(CONNECT_FAILED);
        pool.releaseSlot();
    }

    /** Once a second: reserve pool, min_pool_size, waiting timeouts, idle and lifetime closes. */
    public void upkeep() {
        ShardUpkeep.run(this);
    }

    /** A reload changed the pool's settings: see {@link ShardUpkeep#configChanged}. */
    void configChanged(boolean replaceServers) {
        ShardUpkeep.configChanged(this, replaceServers);
    }

    /** The pool is gone from the config: see {@link ShardUpkeep#kill}. */
    void kill(String reason) {
        ShardUpkeep.kill(this, reason);
    }
}
