package io.sluice.pool;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.sluice.protocol.MemoryBudget;
import io.sluice.protocol.BackendCodes;
import io.sluice.protocol.MessageScanner;
import io.sluice.protocol.PgReader;
import io.sluice.protocol.PgReader.ErrorFields;
import io.sluice.protocol.PgWriter;
import io.sluice.protocol.ProtocolException;
import io.sluice.protocol.Relay;
import io.sluice.protocol.SocketNames;
import io.sluice.protocol.TransactionState;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to PostgreSQL: its login, its relay of server bytes to the linked client,
 * and the queries Sluice runs on it (connect_query, parameter sync, reset).
 *
 * <p>Only ReadyForQuery, ParameterStatus and, outside the relay, ErrorResponse are decoded;
 * everything else passes to the client as bytes. Its state is changed only by
 * {@link PoolShard#move}, which keeps the shard's lists in step.
 */
public final class ServerConnection extends ChannelInboundHandlerAdapter implements MessageScanner.Sink {
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
    private static final AtomicLong IDS = new AtomicLong();
    /** Server messages Sluice assembles (errors, auth, parameters) are small; larger is corrupt. */
    private static final int MAX_COLLECT = 1 << 20;

    /** The most by which a server's lifetime is shortened, as a share of server_lifetime. */
    static final double LIFETIME_JITTER = 0.2;

    private final long id = IDS.incrementAndGet();
    private final PoolShard shard;
    private final ServerLogin login;
    final long createdNanos = System.nanoTime();
    /**
     * The share of server_lifetime this server lives, drawn once between 0.8 and 1: servers
     * opened together (a pool filled at start-up or after a restart) are then not all closed
     * and reopened in the same second when their lifetime ends.
     */
    private final double lifetimeShare = 1 - LIFETIME_JITTER * java.util.concurrent.ThreadLocalRandom.current().nextDouble();
    /** When it was opened, wall clock: SHOW SERVERS connect_time. */
    private final long createdMillis = System.currentTimeMillis();
    /** The pool's generation it logged in under: an older one is closed once free (see {@link Pool#reconfigure}). */
    final int generation;
    /** {@link LeftState} bits a client left here (see session_state_policy), and who left them first. */
    int leftState;
    ClientNode leftStateBy;
    /** Running server_check_query (in state RESET). */
    private boolean checking;
    /** When it last became idle (set by {@link PoolShard#move}): for server_idle_timeout. */
    long stateSinceNanos = createdNanos;

    /** Changed only by {@link PoolShard#move}; starts in LOGIN, on the shard's LOGIN list. */
    ServerState state = ServerState.LOGIN;
    /** The shard's list for its state, and its neighbours there: kept by {@link ServerList}. */
    ServerList list;
    ServerConnection prev;
    ServerConnection next;
    private Channel channel;
    /** Writes to this server may skip its pipeline (see {@link Relay}). */
    private boolean bypass;
    private MessageScanner scanner;
    private PoolClient client;
    private final Map<String, String> parameters = new HashMap<>();
    private int processId;
    private int secretKey;
    private TransactionState tx = TransactionState.IDLE;
    /** What the server still owes the client (and Sluice's own queries). */
    private final ReplyLedger owed;
    private ErrorFields internalError;
    private boolean wroteToClient;
    /** When it last said ReadyForQuery inside a transaction (System.nanoTime): idle_transaction_timeout. */
    long readyInTransactionNanos;
    /** Bytes relayed to clients since {@link #takeBytesSent} was last called (SHOW STATS total_sent). */
    private long bytesSent;
    private String closeReason;
    /** CancelRequests for this server's client on their way to PostgreSQL (see {@link PoolShard#cancel}). */
    int cancelsInFlight;
    /** A CancelRequest was not answered in time: its signal may come at any moment, so this server is not reused. */
    boolean cancelUncertain;

    /** Prepared statements held here under Sluice's names; null when the pool does not track them. */
    private final ServerStatements statements;

    /** ParseComplete, shared: relayed where a CloseComplete stood in for it. */
    private static final ByteBuf PARSE_COMPLETE = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(5).writeByte(BackendCodes.PARSE_COMPLETE).writeInt(4));

    ServerConnection(PoolShard shard) {
        this.shard = shard;
        this.generation = shard.pool().generation();
        PoolConfig config = shard.pool().config();
        this.login = new ServerLogin(config, shard.pool());
        // Every server can serve a client that tracks prepared statements, whatever its pool's
        // mode now: a reload that changes pool_mode leaves connected clients in the mode they
        // logged in with, and a transaction-mode client given a server without the tracker
        // failed on its first query. Untracked clients' replies pass through it untouched.
        this.statements = new ServerStatements(Math.max(1, config.maxPreparedStatements()));
        this.owed = new ReplyLedger(statements);
    }

    /** What the server owes its client: the relay tells it of every client message that asks for a reply. */
    public ReplyLedger owed() {
        return owed;
    }

    public ServerStatements statements() {
        return statements;
    }

    public long id() {
        return id;
    }

    public ServerState state() {
        return state;
    }

    public Channel channel() {
        return channel;
    }

    public PoolShard shard() {
        return shard;
    }

    /**
     * The client parameter values this server was last checked or set to match (an opaque
     * token of the session layer), null when unknown. Any ParameterStatus clears it.
     */
    private Object trackedSyncedTo;

    public Object trackedSyncedTo() {
        return trackedSyncedTo;
    }

    public void trackedSyncedTo(Object token) {
        trackedSyncedTo = token;
    }

    public Map<String, String> parameters() {
        return parameters;
    }

    public int processId() {
        return processId;
    }

    public int secretKey() {
        return secretKey;
    }

    /** True when the server is at rest: no transaction, no reply owed, no partial message. */
    public boolean isClean() {
        return tx == TransactionState.IDLE && !owesReply();
    }

    /** True when this server has lived its share of {@code lifetimeNanos} (0: no limit) by {@code now}. */
    boolean lifetimeOver(long now, long lifetimeNanos) {
        return lifetimeNanos > 0 && now - createdNanos > (long) (lifetimeNanos * lifetimeShare);
    }

    /** Inside a transaction with nothing running: the client holds it idle. */
    boolean idleInTransaction() {
        return tx != TransactionState.IDLE && !owesReply();
    }

    boolean isInTransaction() {
        return tx != TransactionState.IDLE;
    }

    /** True while a request of the linked client runs here: see {@link ReplyLedger#runningClientRequest}. */
    public boolean runningClientRequest() {
        return owed.runningClientRequest();
    }

    /** A reply (ReadyForQuery, or the rest of a message) is still to come from the server. */
    public boolean owesReply() {
        return owed.owes() || (scanner != null && !scanner.atBoundary());
    }

    /** This server as SHOW SERVERS lists it (on its loop). */
    ConnectionRow row(long nowNanos, long nowMillis) {
        String st = switch (state) {
            case LOGIN -> "new";
            case IDLE -> "idle";
            case ACTIVE -> "active";
            case RESET -> "tested";
            case CANCELING -> "being_canceled";
            default -> "closing";
        };
        long since = state == ServerState.IDLE ? nowMillis - (nowNanos - stateSinceNanos) / 1_000_000 : createdMillis;
        PoolConfig cfg = shard.pool().config();
        String app = parameters.get("application_name");
        return new ConnectionRow(id, cfg.serverUser(), cfg.database(), st, channel == null ? null : channel.remoteAddress(),
                channel == null ? null : channel.localAddress(), createdMillis, since, 0,
                client == null ? 0 : client.id(), processId, app == null ? "" : app,
                statements == null ? 0 : statements.size(), generation != shard.pool().generation(),
                TlsInfo.of(channel));
    }

    /** Seconds since it was opened, for "closing because: ... (age=Ns)". */
    long ageSeconds() {
        return (System.currentTimeMillis() - createdMillis) / 1000;
    }

    /** Bytes relayed to the client since the last call: for its request's statistics. */
    public long takeBytesSent() {
        long n = bytesSent;
        bytesSent = 0;
        return n;
    }

    public String logId() {
        return "S-" + id + ": " + shard.pool().config() + "@"
                + (channel == null ? "?" : SocketNames.hostPort(channel.remoteAddress()));
    }

    // ---- used by the client's relay, on this loop ----

    /** Relays client bytes; {@code run} is owned by the write, even if it fails. */
    public void write(ByteBuf run) {
        Relay.write(channel, bypass, run);
    }

    public void flush() {
        Relay.flush(channel, bypass);
    }

    /** Runs Sluice's own simple queries; their replies are consumed, not relayed. */
    public void runInternal(String... queries) {
        ByteBuf out = channel.alloc().buffer();
        for (String q : queries) {
            PgWriter.query(out, q);
        }
        owed.internal(queries.length);
        internalError = null;
        channel.writeAndFlush(out, channel.voidPromise());
    }

    /**
     * Runs {@code sql} with one text parameter (auth_query) as Sluice's own query: its rows are
     * added to {@code rows} (each column's text, null for NULL), nothing reaches a client, and
     * the linked client hears {@link PoolClient#internalQueryDone} at its ReadyForQuery.
     */
    public void runLookup(String sql, String parameter, List<String[]> rows) {
        ByteBuf out = channel.alloc().buffer();
        PgWriter.extendedQuery(out, sql, parameter);
        owed.internal(1);
        internalError = null;
        lookupRows = rows;
        channel.writeAndFlush(out, channel.voidPromise());
    }

    /** Where {@link #runLookup}'s rows go until its ReadyForQuery; null otherwise. */
    private List<String[]> lookupRows;

    /** A statement of {@code by}'s leaves session state here: dealt with when the server is given back. */
    public void leaveState(int bits, ClientNode by) {
        if (leftState == 0) {
            leftStateBy = by;
        }
        leftState |= bits;
    }

    /** Runs server_check_query on this idle server before it is handed out (state RESET). */
    void check(String query) {
        checking = true;
        runInternal(query);
    }

    /** The client linked to it now, null for none. */
    PoolClient linkedClient() {
        return client;
    }

    void link(PoolClient c) {
        this.client = c;
    }

    void unlink() {
        if (wroteToClient && client != null) {
            // Released inside a read, at ReadyForQuery: the reply must not wait for a flush
            // that channelReadComplete would no longer give it (the link is gone by then).
            wroteToClient = false;
            Relay.flush(client.channel(), client.bypassPipeline());
        }
        this.client = null;
        if (!channel.config().isAutoRead()) {
            channel.config().setAutoRead(true);
        }
    }

    /** Closes the connection; the shard hears of it in channelInactive. */
    public void close(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
        if (channel != null && channel.isOpen()) {
            ByteBuf out = null;
            // A Terminate only where it can be written: behind a reply still owed (a client that
            // left mid-query, a backend blocked writing to Sluice while Sluice no longer reads)
            // it would wait for ever, and the close with it, leaving the backend stuck too.
            if (channel.isActive() && state != ServerState.LOGIN && !owesReply()) {
                try {
                    out = channel.alloc().buffer(5);
                } catch (OutOfMemoryError e) {
                    // Closed without its Terminate, which PostgreSQL takes as well.
                }
            }
            if (out != null) {
                PgWriter.terminate(out);
                channel.writeAndFlush(out).addListener(f -> channel.close());
            } else {
                channel.close();
            }
        }
    }

    // ---- Netty ----

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        // server_connect_timeout covers the TLS handshake and the login too, as in PgBouncer: a
        // server that accepts connections and never answers would otherwise hold a pool slot in
        // LOGIN for ever.
        long timeout = shard.pool().config().serverConnectTimeout().toNanos();
        if (timeout > 0) {
            long left = Math.max(1, timeout - (System.nanoTime() - createdNanos));
            ctx.executor().schedule(this::loginTimedOut, left, TimeUnit.NANOSECONDS);
        }
    }

    /** Connected, and encrypted where server TLS asked for it ({@link ServerTlsStart} goes first). */
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        bypass = Relay.canBypass(channel);
        scanner = new MessageScanner(ctx.alloc(), Integer.MAX_VALUE, MAX_COLLECT, MemoryBudget.NONE);
        ByteBuf out = ctx.alloc().buffer();
        PgWriter.startup(out, login.startupParameters());
        ctx.writeAndFlush(out, ctx.voidPromise());
        if (log.isDebugEnabled()) {
            String tls = TlsInfo.of(channel);
            log.debug("{} connected{}, logging in", logId(), tls.isEmpty() ? "" : ", " + tls);
        }
    }

    private void loginTimedOut() {
        // Not yet connected: the connect's own timeout (the same server_connect_timeout, from the
        // same moment) ends it as "connect failed", which is what waiting clients are to hear.
        if (state == ServerState.LOGIN && channel.isOpen() && channel.isActive()) {
            String why = "server login timed out (server_connect_timeout)";
            log.warn("{} closing: {}", logId(), why);
            if (!login.failed()) {
                login.fail(why);
            }
            close(why);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        scanner.scan((ByteBuf) msg, this);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (wroteToClient && client != null) {
            wroteToClient = false;
            Channel c = client.channel();
            Relay.flush(c, client.bypassPipeline());
            if (!c.isWritable()) {
                // Backpressure: the client reads slower than the server sends. Resumed by the
                // client's channelWritabilityChanged.
                channel.config().setAutoRead(false);
            }
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (channel.isWritable() && client != null) {
            client.serverWritable();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        // Part of a message already relayed: the client must not get Sluice's FATAL as its rest.
        boolean midMessage = scanner != null && scanner.relayingMessage();
        if (scanner != null) {
            scanner.release();
        }
        String reason = closeReason != null ? closeReason : "server closed the connection";
        PoolClient c = client;
        client = null;
        shard.serverClosed(this, reason);
        if (c != null) {
            c.serverLost(reason, midMessage);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof ServerTlsStart.ServerTlsException tls) {
            // Said as it is: "server refused SSL", a certificate that did not verify.
            if (closeReason == null) {
                log.warn("{} closing: {}", logId(), tls.getMessage());
            }
            if (state == ServerState.LOGIN && !login.failed()) {
                login.fail(tls.getMessage());
            }
            close(tls.getMessage());
            return;
        }
        boolean protocol = cause instanceof ProtocolException || cause instanceof IndexOutOfBoundsException;
        String why = protocol ? "protocol error: " + cause.getMessage() : cause.toString();
        if (closeReason == null) {
            // Once: a closing connection may report every write that fails after it.
            log.warn("{} closing: {}", logId(), why);
        }
        if (state == ServerState.LOGIN && !login.failed()) {
            // Clients waiting for this login are told in PgBouncer's words; the details
            // (addresses, errno, transport) stay in the log.
            login.fail(protocol ? "server login failed: protocol error" : "server conn crashed?");
        }
        close(why);
    }

    // ---- MessageScanner.Sink ----

    @Override
    public int classify(byte type, int bodyLength, ByteBuf in) {
        if (state == ServerState.ACTIVE && !owed.internalRunning()) {
            switch (type) {
                case BackendCodes.READY_FOR_QUERY:
                    return client != null && client.withholdsReady() ? MessageScanner.CONSUME : MessageScanner.INSPECT;
                case BackendCodes.PARAMETER_STATUS:
                    return MessageScanner.INSPECT;
                case BackendCodes.PARSE_COMPLETE:
                case BackendCodes.BIND_COMPLETE:
                case BackendCodes.CLOSE_COMPLETE:
                    return statements == null ? MessageScanner.PASS : statements.classify(type);
                case BackendCodes.COPY_IN_RESPONSE:
                    owed.copyInBegan();
                    return MessageScanner.PASS;
                case BackendCodes.ERROR_RESPONSE:
                    owed.error();
                    return statements == null ? MessageScanner.PASS : MessageScanner.OBSERVE;
                default:
                    return MessageScanner.PASS;
            }
        }
        return MessageScanner.CONSUME;
    }

    @Override
    public void forward(ByteBuf run) {
        PoolClient c = client;
        if (c == null) {
            run.release();
            return;
        }
        bytesSent += run.readableBytes();
        Relay.write(c.channel(), c.bypassPipeline(), run);
        wroteToClient = true;
    }

    @Override
    public boolean onMessage(byte type, ByteBuf body) {
        if (state == ServerState.LOGIN && !login.done()) {
            return onLoginMessage(type, body);
        }
        switch (type) {
            case BackendCodes.READY_FOR_QUERY:
                return onReady(body.getByte(body.readerIndex()));
            case BackendCodes.PARAMETER_STATUS: {
                String name = PgReader.cstring(body);
                String value = PgReader.cstring(body);
                parameters.put(name, value);
                trackedSyncedTo = null;
                if (client != null && !owed.internalRunning()) {
                    client.serverParameter(name, value);
                }
                return true;
            }
            case BackendCodes.ERROR_RESPONSE: {
                ErrorFields e = PgReader.errorFields(body);
                if (owed.internalRunning()) {
                    if (internalError == null) {
                        internalError = e;
                    }
                } else if (state == ServerState.ACTIVE && client != null) {
                    if (statements != null) {
                        statements.onError(e);
                        tellNotParsed();
                    }
                } else {
                    log.warn("{} unexpected error while idle: {}", logId(), e);
                }
                if ("FATAL".equals(e.severity()) || "PANIC".equals(e.severity())) {
                    if (state == ServerState.IDLE) {
                        // Off the idle list now: a client read in this loop turn must not get it.
                        shard.retire(this, "server error: " + e);
                    } else {
                        close("server error: " + e);
                    }
                }
                return true;
            }
            case BackendCodes.DATA_ROW:
                if (lookupRows != null && owed.internalRunning()) {
                    lookupRows.add(PgReader.dataRow(body));
                }
                return true;
            case BackendCodes.PARSE_COMPLETE:
            case BackendCodes.BIND_COMPLETE:
            case BackendCodes.CLOSE_COMPLETE:
                if (owed.internalRunning()) {
                    // A lookup's own unnamed statement: nothing the client's statements tracker knows.
                    return true;
                }
                if (statements != null && statements.onReply(type) == ServerStatements.Reply.AS_PARSE_COMPLETE
                        && client != null) {
                    client.channel().write(PARSE_COMPLETE.duplicate(), client.channel().voidPromise());
                    wroteToClient = true;
                }
                return true;
            default:
                return true;
        }
    }

    private boolean onReady(byte status) {
        tx = TransactionState.of(status);
        if (tx != TransactionState.IDLE) {
            // In a transaction that the client may leave idle: idle_transaction_timeout counts from here.
            readyInTransactionNanos = System.nanoTime();
        }
        if (owed.ready()) {
            if (owed.internalRunning()) {
                return true;
            }
            ErrorFields err = internalError;
            internalError = null;
            lookupRows = null;
            if (state == ServerState.LOGIN) {
                if (err != null) {
                    login.fail(err);
                    close("connect_query failed: " + err);
                    return false;
                }
                shard.loginDone(this);
            } else if (state == ServerState.RESET) {
                boolean wasCheck = checking;
                checking = false;
                if (err != null) {
                    close((wasCheck ? "server_check_query failed: " : "reset query failed: ") + err);
                    return false;
                }
                shard.resetDone(this);
            } else if (client != null) {
                client.internalQueryDone(err);
            }
            return true;
        }
        if (statements != null) {
            statements.onReady();
            tellNotParsed();
        }
        if (client != null) {
            client.serverReady(status);
        }
        return true;
    }

    /** The client's Parses that failed or were skipped: it must forget those names, as PostgreSQL has. */
    private void tellNotParsed() {
        List<String> names = statements.notParsed();
        if (!names.isEmpty()) {
            if (client != null) {
                client.notParsed(names);
            }
            names.clear();
        }
    }

    private boolean onLoginMessage(byte type, ByteBuf body) {
        switch (type) {
            case BackendCodes.AUTHENTICATION: {
                ByteBuf reply = channel.alloc().buffer();
                try {
                    login.onAuthRequest(body, reply);
                } catch (RuntimeException e) {
                    reply.release();
                    if (!login.failed()) {
                        login.fail(e.getMessage());
                    }
                    close("server login failed: " + login.error());
                    return false;
                }
                if (reply.isReadable()) {
                    channel.writeAndFlush(reply, channel.voidPromise());
                } else {
                    reply.release();
                }
                return true;
            }
            case BackendCodes.PARAMETER_STATUS:
                parameters.put(PgReader.cstring(body), PgReader.cstring(body));
                return true;
            case BackendCodes.BACKEND_KEY_DATA:
                processId = body.readInt();
                secretKey = body.readInt();
                return true;
            case BackendCodes.ERROR_RESPONSE: {
                ErrorFields e = PgReader.errorFields(body);
                login.fail(e);
                log.warn("{} login failed: {}", logId(), e);
                close("server login failed: " + e.message());
                return false;
            }
            case BackendCodes.READY_FOR_QUERY: {
                tx = TransactionState.of(body.getByte(body.readerIndex()));
                login.finish();
                String connectQuery = shard.pool().config().connectQuery();
                if (connectQuery != null && !connectQuery.isEmpty()) {
                    runInternal(connectQuery);
                } else {
                    shard.loginDone(this);
                }
                return true;
            }
            default:
                // NoticeResponse, NegotiateProtocolVersion: nothing to act on.
                if (log.isTraceEnabled()) {
                    log.trace("{} <=BE '{}' during login: {}", logId(), (char) type,
                            body.toString(StandardCharsets.UTF_8));
                }
                return true;
        }
    }

    /** The error that made the login fail, for the clients that waited on it. */
    ErrorFields loginError() {
        return login.error();
    }
}
