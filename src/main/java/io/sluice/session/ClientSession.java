package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.sluice.config.PoolMode;
import io.sluice.pool.Pool;
import io.sluice.pool.PoolClient;
import io.sluice.pool.PoolShard;
import io.sluice.pool.ServerConnection;
import io.sluice.pool.ClientNode;
import io.sluice.pool.ClientState;
import io.sluice.protocol.BackendCodes;
import io.sluice.protocol.FrontendCodes;
import io.sluice.protocol.MessageScanner;
import io.sluice.protocol.PgReader.ErrorFields;
import io.sluice.protocol.PgWriter;
import io.sluice.protocol.ProtocolException;
import io.sluice.protocol.Relay;
import io.sluice.protocol.SqlState;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A logged-in client: its place in its pool, getting a server when it sends something, the
 * relay of its bytes to that server, the pool mode's release policy, prepared statements,
 * parameter sync, cancel routing and its FATAL. {@link ClientLogin} puts it in the pipeline
 * in its own place once the client is in. The server-to-client half of the relay runs in
 * {@link ServerConnection}, on the same event loop.
 */
public final class ClientSession extends ChannelInboundHandlerAdapter implements PoolClient, MessageScanner.Sink {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    /** Bytes a waiting client may send before Sluice stops reading from it. */
    private static final int HOLD_WITHOUT_PAUSE = 64 * 1024;
    /** ReadyForQuery 'I', shared: written by statement mode after it checked the status. */
    private static final ByteBuf READY_IDLE = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(6).writeByte(BackendCodes.READY_FOR_QUERY).writeInt(5).writeByte('I'));

    private final long id;
    private final SessionContext ctx;
    private final String user;
    private final String database;
    private final TrackedParameters tracked;
    private final Pool pool;
    private final PoolMode poolMode;
    /** When the client connected, wall clock (SHOW CLIENTS connect_time). */
    private final long connectMillis;
    private Channel channel;
    private MessageScanner scanner;
    private PoolShard shard;
    /** Its state and place in the shard's lists; the state is changed by the shard only. */
    private ClientNode node;
    private ServerConnection server;
    private int cancelPid;
    private int cancelKey;
    private boolean registered;
    private boolean welcomeSent;
    private boolean syncing;
    /** The server was free to go while the client was mid-message: released once that message is whole. */
    private boolean releaseWhenWhole;
    private boolean wroteToServer;
    /** Sluice is closing this client (a FATAL is on its way): later errors add nothing. */
    private boolean closing;
    /** Server bytes may skip this client's pipeline (see {@link Relay}). */
    private boolean bypass;
    /** Client reads waiting for a server (see {@link #hold}). */
    private final HeldBytes held = new HeldBytes();
    private PreparedStatements prepared;
    private ByteBuf out;
    /** Why Sluice closed it, for log_disconnections; null: the client went away. */
    private String closeReason;
    /** SHOW STATS accounting since the last report. */
    private final RequestStats stats = new RequestStats();

    /** A client {@link ClientLogin} let in, to {@code pool}; it counts in the client total until it closes. */
    ClientSession(SessionContext ctx, long id, String database, String user, TrackedParameters tracked, Pool pool,
            long connectMillis) {
        this.ctx = ctx;
        this.id = id;
        this.database = database;
        this.user = user;
        this.tracked = tracked;
        this.pool = pool;
        this.poolMode = pool.config().poolMode();
        this.connectMillis = connectMillis;
    }

    @Override
    public Channel channel() {
        return channel;
    }

    @Override
    public boolean bypassPipeline() {
        return bypass;
    }

    @Override
    public long id() {
        return id;
    }

    @Override
    public String user() {
        return user;
    }

    @Override
    public String database() {
        return database;
    }

    @Override
    public long connectMillis() {
        return connectMillis;
    }

    @Override
    public String applicationName() {
        String v = tracked.value("application_name");
        return v == null ? "" : v;
    }

    @Override
    public int preparedStatements() {
        return prepared == null ? 0 : prepared.count();
    }

    @Override
    public long requestStartNanos() {
        return stats.startNanos();
    }

    @Override
    public long transactionStartNanos() {
        return stats.transactionStartNanos();
    }

    @Override
    public ServerConnection linkedServer() {
        return server;
    }

    @Override
    public ClientNode node() {
        return node;
    }

    /** Its state in its pool (CLOSED before it joined one). */
    public ClientState state() {
        return node == null ? ClientState.CLOSED : node.state();
    }

    @Override
    public String logId() {
        return ClientLogin.logId(id, database, user, channel);
    }

    // ---- Netty ----

    /** Put in the pipeline by {@link ClientLogin} once the client is in: joins the pool. */
    @Override
    public void handlerAdded(ChannelHandlerContext c) {
        channel = c.channel();
        bypass = Relay.canBypass(channel);
        shard = pool.shard(ctx.pools().loopIndex(channel.eventLoop()));
        node = shard.join(this);
        pool.metrics().clientLogin();
        long key = ctx.cancels().register(this, ctx.loginRandom());
        cancelPid = (int) (key >>> 32);
        cancelKey = (int) key;
        registered = true;
        // Past authentication, messages may be as large as max_packet_size; with prepared
        // statements tracked, Parse and Bind are assembled to be rewritten, so as large too.
        int max = ctx.config().settings().maxPacketSize();
        if (pool.config().tracksPreparedStatements()) {
            prepared = new PreparedStatements(pool);
            scanner = new MessageScanner(channel.alloc(), max, max);
        } else {
            scanner = new MessageScanner(channel.alloc(), max, ClientLogin.MAX_AUTH_MESSAGE);
        }
        if (pool.welcomeParameters() != null) {
            sendWelcome();
        } else {
            // No server has logged in yet, so the server's parameters are unknown: get one
            // first, as PgBouncer does, and welcome the client with its values.
            channel.config().setAutoRead(false);
            shard.acquire(node);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) {
        if (closing) {
            // The rest of a read that already failed or ended the client: nothing more is acted on.
            ReferenceCountUtil.release(msg);
            return;
        }
        ByteBuf buf = (ByteBuf) msg;
        if (node.state() == ClientState.IDLE && buf.isReadable()
                && buf.getByte(buf.readerIndex()) == FrontendCodes.TERMINATE && scanner.atBoundary()) {
            // Goodbye between transactions: nothing for a server to do, so none is taken
            // (taking one queued the client behind every waiter only to close it).
            buf.release();
            closeReason = "client close request";
            channel.close();
            return;
        }
        stats.read(buf.readableBytes());
        switch (node.state()) {
            case ACTIVE:
                if (!syncing) {
                    scanBatch(buf);
                    return;
                }
                hold(buf);
                return;
            case IDLE:
            case WAITING:
                hold(buf);
                return;
            default:
                buf.release();
        }
    }

    /**
     * Bytes with no server to go to yet are kept as they came, and read again once one is
     * linked: what they turn into (prepared statements above all) depends on that server.
     * Reading stops once more than {@link #HOLD_WITHOUT_PAUSE} bytes wait (while the client
     * waits for a server, or for a parameter sync), so little more than that is held.
     */
    private void hold(ByteBuf buf) {
        held.add(buf);
        if (node.state() == ClientState.IDLE) {
            // With an idle server at hand this links it and relays the bytes at once.
            shard.acquire(node);
        }
        if ((node.state() == ClientState.WAITING || syncing) && held.bytes() > HOLD_WITHOUT_PAUSE) {
            // Stop reading (a system call each way) only when a client sends on while it
            // waits: a query and its Sync are a few bytes, and the client then waits itself.
            channel.config().setAutoRead(false);
        }
    }

    /** Relays one read's worth of client bytes to the linked server. */
    private void scanBatch(ByteBuf buf) {
        // Sluice's own Closes go in only between the client's messages, never into one cut
        // across reads; until then they wait for a read that begins at a boundary.
        if (prepared != null && scanner.atBoundary() && prepared.hasPendingCloses(server.statements())) {
            prepared.beginBatch(server.statements(), out());
        }
        scanner.scan(buf, this);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext c) {
        flushOut();
        if (wroteToServer && server != null) {
            wroteToServer = false;
            server.flush();
            if (!server.channel().isWritable()) {
                // Backpressure: the server is not taking bytes; resumed on its writability.
                channel.config().setAutoRead(false);
            }
        }
        if (releaseWhenWhole) {
            maybeRelease();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext c) {
        if (channel.isWritable() && server != null) {
            server.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void notParsed(List<String> names) {
        if (prepared != null) {
            prepared.notParsed(names);
        }
    }

    @Override
    public void serverWritable() {
        if (node.state() == ClientState.ACTIVE && !syncing) {
            channel.config().setAutoRead(true);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) {
        ctx.clients().decrementAndGet();
        ctx.pools().releaseClient(database, user);
        if (registered) {
            ctx.cancels().remove(cancelPid, cancelKey, this);
        }
        held.release();
        if (out != null) {
            out.release();
            out = null;
        }
        boolean midMessage = !scanner.atBoundary();
        scanner.release();
        if (prepared != null) {
            prepared.release();
        }
        shard.leave(node);
        if (server != null) {
            ServerConnection s = server;
            server = null;
            if (midMessage) {
                s.owed().cutOff();
            }
            shard.release(node, s);
        }
        if (ctx.logDisconnections()) {
            log.info("{} closing because: {} (age={}s)", logId(), closeReason != null ? closeReason
                    : "client unexpected eof", (System.currentTimeMillis() - connectMillis) / 1000);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
        failed(cause);
    }

    private void failed(Throwable cause) {
        ClientFailure f = ClientFailure.of(cause);
        if (!closing) {
            // Once: a connection on its way out may report every write that fails after that.
            log.info("{} {}: {}", logId(), f.protocol() ? "protocol error" : "closing", f.cause().toString());
        }
        if (f.sqlState() != null) {
            fatal(f.sqlState(), f.message());
        } else {
            closing = true;
            channel.close();
        }
    }

    private void sendWelcome() {
        ByteBuf out = channel.alloc().buffer();
        PgWriter.authRequest(out, BackendCodes.AUTH_OK);
        tracked.welcome(pool.welcomeParameters(), out);
        PgWriter.backendKeyData(out, cancelPid, cancelKey);
        PgWriter.readyForQuery(out, (byte) 'I');
        channel.writeAndFlush(out, channel.voidPromise());
        welcomeSent = true;
    }

    // ---- MessageScanner.Sink: client to server ----

    @Override
    public int classify(byte type, int bodyLength, ByteBuf in) {
        if (bodyLength != 0 && (type == FrontendCodes.SYNC || type == FrontendCodes.FLUSH
                || type == FrontendCodes.COPY_DONE)) {
            // PostgreSQL answers these with an ERROR (trailing data) that Sluice would not know
            // was owed: in transaction mode it could reach the next client of the server.
            throw new ProtocolException("invalid message format: message type " + (char) type
                    + " with a body of " + bodyLength + " bytes");
        }
        switch (type) {
            case FrontendCodes.TERMINATE:
                return MessageScanner.CONSUME;
            case FrontendCodes.QUERY:
                server.owed().query();
                if (scansState()) {
                    noteState(StateScan.query(in, bodyLength));
                }
                return prepared != null && PreparedStatements.mayDropAll(in, bodyLength)
                        ? MessageScanner.OBSERVE : MessageScanner.PASS;
            case FrontendCodes.FUNCTION_CALL:
                server.owed().query();
                return MessageScanner.PASS;
            case FrontendCodes.SYNC:
                server.owed().sync();
                return MessageScanner.PASS;
            case FrontendCodes.EXECUTE:
                server.owed().execute();
                return MessageScanner.PASS;
            case FrontendCodes.COPY_DONE:
            case FrontendCodes.COPY_FAIL:
                server.owed().copyEnd();
                return MessageScanner.PASS;
            case FrontendCodes.PARSE:
            case FrontendCodes.BIND:
            case FrontendCodes.DESCRIBE:
            case FrontendCodes.CLOSE:
                server.owed().extended();
                if (type == FrontendCodes.PARSE && scansState()) {
                    noteState(StateScan.parse(in, bodyLength));
                }
                if (prepared == null) {
                    return MessageScanner.PASS;
                }
                // The unnamed statement needs no rewriting: relay it as bytes (the common
                // case for drivers that do not prepare), noting the reply it will get.
                return prepared.passesUnnamed(type, bodyLength, in, server.statements())
                        ? MessageScanner.PASS : MessageScanner.CONSUME;
            case FrontendCodes.FLUSH:
            case FrontendCodes.COPY_DATA:
                return MessageScanner.PASS;
            default:
                // PostgreSQL ends the connection on a type it does not know, in these words, and
                // so does PgBouncer. Relayed, its FATAL was owed to no one: it could come after a
                // Terminate had given the server back, and end the next client instead.
                throw new ProtocolException("invalid frontend message type " + (type & 0xff));
        }
    }

    /** Session state a statement of this client leaves on its server: see session_state_policy. */
    private void noteState(int bits) {
        if (bits != 0) {
            server.leaveState(bits, node);
        }
    }

    /**
     * False when the server's reset query will run when it is given back (session mode, or
     * server_reset_query_always): it undoes session state anyway, and the text is not scanned.
     */
    private boolean scansState() {
        if (poolMode != PoolMode.SESSION && !pool.config().resetQueryAlways()) {
            return true;
        }
        return pool.config().resetQuery().isEmpty();
    }

    @Override
    public boolean onMessage(byte type, ByteBuf body) {
        switch (type) {
            case FrontendCodes.PARSE:
                prepared.onParse(body, server.statements(), out());
                return true;
            case FrontendCodes.BIND:
                prepared.onBind(body, server.statements(), out());
                return true;
            case FrontendCodes.DESCRIBE:
                prepared.onDescribe(body, server.statements(), out());
                return true;
            case FrontendCodes.CLOSE:
                prepared.onClose(body, server.statements(), out());
                return true;
            case FrontendCodes.QUERY:
                prepared.onQuery(body, server.statements());
                return true;
            default:
                // Terminate: the client is done; the server goes back to the pool in channelInactive.
                closeReason = "client close request";
                channel.close();
                return false;
        }
    }

    /** Rewritten messages for the server, written out before the next run of relayed bytes. */
    private ByteBuf out() {
        if (out == null) {
            out = channel.alloc().buffer(256);
        }
        return out;
    }

    private void flushOut() {
        ByteBuf o = out;
        if (o == null) {
            return;
        }
        out = null;
        if (o.isReadable() && server != null) {
            server.write(o);
            wroteToServer = true;
        } else {
            o.release();
        }
    }

    @Override
    public void forward(ByteBuf run) {
        if (server == null) {
            run.release();
            return;
        }
        flushOut();
        server.write(run);
        wroteToServer = true;
    }

    // ---- PoolClient: server events ----

    @Override
    public void serverAssigned(ServerConnection s) {
        assert s.channel().eventLoop() == channel.eventLoop() : "client and server must share one event loop";
        server = s;
        if (!welcomeSent) {
            sendWelcome();
        }
        String[] sync = tracked.syncQuery(s.parameters(), s.trackedSyncedTo());
        if (sync == null) {
            s.trackedSyncedTo(tracked.view());
        } else {
            syncing = true;
            s.runInternal(sync);
            return;
        }
        flushHeld();
    }

    @Override
    public void internalQueryDone(ErrorFields error) {
        syncing = false;
        if (error != null) {
            fatal(error.sqlState() != null ? error.sqlState() : SqlState.PROTOCOL_VIOLATION, error.message());
            return;
        }
        tracked.synced(server.parameters());
        server.trackedSyncedTo(tracked.view());
        flushHeld();
    }

    private void flushHeld() {
        ByteBuf b;
        boolean any = false;
        try {
            while (node.state() == ClientState.ACTIVE && server != null && (b = held.poll()) != null) {
                scanBatch(b);
                any = true;
            }
        } catch (RuntimeException e) {
            // Often called from the server's read (a server freed by another client, or a
            // login done): this client's bad bytes must end this client, not that read.
            held.release();
            failed(e);
            return;
        }
        held.release();
        if (node.state() != ClientState.ACTIVE || server == null) {
            return;
        }
        flushOut();
        if (wroteToServer) {
            wroteToServer = false;
            server.flush();
        }
        if (!channel.config().isAutoRead()) {
            channel.config().setAutoRead(true);
        }
        if (!any || releaseWhenWhole) {
            // Linked only to learn the server's parameters (first login of the pool), or kept
            // for a message the client had not finished.
            maybeRelease();
        }
    }

    @Override
    public boolean withholdsReady() {
        return poolMode == PoolMode.STATEMENT;
    }

    @Override
    public void serverReady(byte status) {
        if (!server.owesReply()) {
            stats.done(status, server.takeBytesSent(), pool.metrics());
        }
        if (poolMode == PoolMode.STATEMENT) {
            if (status != 'I') {
                // PgBouncer's rule and message, in place of the ReadyForQuery that opened the
                // block; the server is rolled back when the client is gone.
                fatal(SqlState.PROTOCOL_VIOLATION, "transaction blocks not allowed in statement pooling mode");
                return;
            }
            channel.writeAndFlush(READY_IDLE.duplicate(), channel.voidPromise());
        }
        maybeRelease();
    }

    /**
     * Transaction and statement modes give the server back once it is idle with no reply owed:
     * after the last ReadyForQuery of a pipeline, outside a transaction block.
     */
    private void maybeRelease() {
        if (poolMode == PoolMode.SESSION || server == null || syncing || !server.isClean()) {
            return;
        }
        if (scanner.relayingMessage()) {
            // The server has the start of a message the client is still sending (one that asks
            // for no reply, a CopyData say): given to another client now, it took that client's
            // query as the rest, and the next client waited for ever. Kept until it is whole.
            releaseWhenWhole = true;
            return;
        }
        releaseWhenWhole = false;
        ServerConnection s = server;
        server = null;
        if (!channel.config().isAutoRead()) {
            // Paused for the server's backpressure: with no server, nothing else would resume it.
            channel.config().setAutoRead(true);
        }
        shard.release(node, s);
    }

    @Override
    public void serverParameter(String name, String value) {
        tracked.serverReported(name, value);
    }

    @Override
    public void serverLost(String reason, boolean midMessage) {
        server = null;
        if (node.state() != ClientState.CLOSED) {
            log.info("{} server connection lost: {}", logId(), reason);
            if (midMessage) {
                // An error now would be read as the rest of the half message the client has.
                closing = true;
                channel.close();
                return;
            }
            fatal(SqlState.PROTOCOL_VIOLATION, "server conn crashed?");
        }
    }

    @Override
    public void notice(String message) {
        if (closing || !channel.isActive()) {
            return;
        }
        ByteBuf notice = channel.alloc().buffer();
        PgWriter.notice(notice, BackendCodes.NOTICE_RESPONSE, "NOTICE", "00000", message);
        channel.writeAndFlush(notice, channel.voidPromise());
    }

    @Override
    public void disconnect(String sqlState, String message) {
        if (node.state() != ClientState.CLOSED) {
            fatal(sqlState, message);
        }
    }

    /**
     * Forwards a CancelRequest to the server serving this client, if a request of this client
     * runs there now; else drops it, as PgBouncer does (the query it was meant for is over, and
     * the server may be about to serve someone else). {@code requester} is closed when done.
     */
    void forwardCancel(Channel requester) {
        ServerConnection s = server;
        if (s != null && node.state() == ClientState.ACTIVE && s.runningClientRequest()) {
            log.info("{} cancel request forwarded to {}", logId(), s.logId());
            shard.cancel(s, requester::close);
        } else {
            log.debug("{} cancel request dropped: no query of this client is running", logId());
            requester.close();
        }
    }

    /** Sends FATAL with the pooler's message and closes once it is written. */
    void fatal(String sqlState, String message) {
        if (closing) {
            return;
        }
        closing = true;
        closeReason = message;
        if (ctx.config().settings().booleanValue("log_pooler_errors")) {
            log.warn("{} pooler error: {}", logId(), message);
        }
        ClientLogin.sendFatal(channel, sqlState, message);
    }
}
