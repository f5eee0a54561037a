package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.auth.Secret;
import io.sluice.config.AuthType;
import io.sluice.config.Settings;
import io.sluice.pool.Pool;
import io.sluice.protocol.FrontendCodes;
import io.sluice.protocol.MemoryBudget;
import io.sluice.protocol.MessageScanner;
import io.sluice.protocol.PgWriter;
import io.sluice.protocol.ProtocolException;
import io.sluice.protocol.SocketNames;
import io.sluice.protocol.SqlState;
import io.sluice.protocol.StartupDecoder;
import io.sluice.protocol.StartupRequest;
import io.sluice.tls.ClientTls;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client until it is in: counted from accept against max_client_conn, client_login_timeout,
 * SSLRequest and GSSENCRequest, CancelRequest, the StartupMessage, authentication and the
 * choice of pool. Once the client is in, it replaces itself in the pipeline with the
 * {@link ClientSession} that relays for it; TLS and the admin console's route belong here.
 */
public final class ClientLogin extends ChannelInboundHandlerAdapter implements MessageScanner.Sink {
    private static final Logger log = LoggerFactory.getLogger(ClientLogin.class);
    private static final AtomicLong IDS = new AtomicLong();
    /** Auth messages are tiny; the same cap as a start-up packet. */
    static final int MAX_AUTH_MESSAGE = StartupDecoder.MAX_STARTUP_PACKET;
    /**
     * Connections past max_client_conn kept open for the admin database only (PgBouncer lets its
     * console in past the limit); past this many more, a socket is closed as soon as it is
     * accepted, before it can hold anything.
     */
    static final int ADMIN_RESERVE = 10;
    static final String TOO_MANY_LOGINS = "too many clients logging in (max_unauthenticated_clients)";

    private enum Phase {
        /** Before a StartupMessage (SSLRequest may come first). */
        STARTUP,
        /** Waiting for auth_query to tell the user's secret; nothing may come from the client now. */
        LOOKUP,
        /** Exchanging authentication messages. */
        AUTH,
        /** Authenticated, pool found: handed to the session at the end of the read. */
        IN,
        /** Handed over, closed, or a cancel request's connection: nothing more is done here. */
        DONE
    }

    private final long id = IDS.incrementAndGet();
    private final SessionContext ctx;
    private Phase phase = Phase.STARTUP;
    private Channel channel;
    private MessageScanner scanner;
    private String user;
    private String database;
    private ClientAuth auth;
    /** auth_query under way (phase LOOKUP), null otherwise. */
    private AuthLookup lookup;
    private TrackedParameters tracked;
    private Pool pool;
    /** This socket is counted in the client total; whoever holds the channel last uncounts it. */
    private boolean counted;
    /** Counted against max_db_client_connections and max_user_client_connections: uncounted at close. */
    private boolean admitted;
    /** A read is being scanned (see {@link #classify}). */
    private boolean scanning;
    /** Sluice is closing this client (a FATAL is on its way): later errors add nothing. */
    private boolean closing;
    private ScheduledFuture<?> loginTimeout;
    /** This handler answered an SSLRequest with 'S' (a TLS handler without it is direct TLS). */
    private boolean sslAnswered;
    /** Counted among the clients logging in, and on this loop's {@link PendingLogins} list (its links). */
    private boolean pending;
    private long pendingSinceNanos;
    ClientLogin pendingPrev;
    ClientLogin pendingNext;
    /** Why Sluice closed it, for log_disconnections; null: the client went away. */
    private String closeReason;
    /** When the client connected, wall clock (SHOW CLIENTS connect_time). */
    private final long connectMillis = System.currentTimeMillis();

    public ClientLogin(SessionContext ctx) {
        this.ctx = ctx;
    }

    /** Identity for logs, e.g. {@code C-12 db/user@127.0.0.1:5544}. */
    String logId() {
        return logId(id, database, user, channel);
    }

    // ---- Netty ----

    @Override
    public void handlerAdded(ChannelHandlerContext c) {
        channel = c.channel();
    }

    @Override
    public void channelActive(ChannelHandlerContext c) {
        // Every socket counts from accept, whatever it will ask for: connections that never
        // log in hold file descriptors too (20,000 of them once took all there were).
        counted = true;
        int clients = ctx.clients().incrementAndGet();
        if (clients > ctx.config().settings().maxClientConn() + ADMIN_RESERVE) {
            ctx.preAuthLog().info("{} closed at once: {} client connections (max_client_conn {} and {} for the admin"
                    + " console)", logId(), clients - 1, ctx.config().settings().maxClientConn(), ADMIN_RESERVE);
            phase = Phase.DONE;
            channel.close();
            return;
        }
        if (!joinPending()) {
            return;
        }
        long timeout = ctx.config().settings().clientLoginTimeout().toMillis();
        if (timeout > 0) {
            loginTimeout = channel.eventLoop().schedule(() -> {
                if (phase == Phase.STARTUP || phase == Phase.LOOKUP || phase == Phase.AUTH) {
                    fatal(SqlState.PROTOCOL_VIOLATION, "client_login_timeout");
                }
            }, timeout, TimeUnit.MILLISECONDS);
        }
        c.fireChannelActive();
    }

    /**
     * Counts this socket among those logging in; past max_unauthenticated_clients it takes the
     * place of this loop's oldest one, if that one is old enough, else it is refused.
     */
    private boolean joinPending() {
        int cap = ctx.config().settings().intValue("max_unauthenticated_clients");
        if (cap > 0 && ctx.pendingLogins().get() >= cap) {
            if (!PendingLogins.evictOldest(System.nanoTime())) {
                ctx.preAuthLog().info("{} closed at once: {} clients logging in (max_unauthenticated_clients {})",
                        logId(), ctx.pendingLogins().get(), cap);
                phase = Phase.DONE;
                closing = true;
                sendFatal(channel, SqlState.PROTOCOL_VIOLATION, TOO_MANY_LOGINS);
                return false;
            }
        }
        ctx.pendingLogins().incrementAndGet();
        pendingSinceNanos = System.nanoTime();
        pending = true;
        PendingLogins.current().add(this);
        return true;
    }

    long pendingSinceNanos() {
        return pendingSinceNanos;
    }

    io.netty.channel.EventLoop loop() {
        return channel.eventLoop();
    }

    /** Made room for a newer login (max_unauthenticated_clients): told why and closed. */
    void evict() {
        leavePending();
        fatal(SqlState.PROTOCOL_VIOLATION, TOO_MANY_LOGINS);
    }

    /** No longer logging in: logged in, closed, evicted, or a cancel request's connection. */
    private void leavePending() {
        if (pending) {
            pending = false;
            ctx.pendingLogins().decrementAndGet();
            PendingLogins.current().remove(this);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) {
        if (closing || phase == Phase.DONE) {
            // The rest of a read that already failed or ended the client: nothing more is acted on.
            ReferenceCountUtil.release(msg);
            return;
        }
        ByteBuf rest = null;
        if (msg instanceof StartupRequest request) {
            onStartupRequest(request);
        } else if (phase == Phase.LOOKUP) {
            // Sluice has not asked for a password yet: a client that sends one anyway (or
            // anything else) is not following the protocol.
            ReferenceCountUtil.release(msg);
            throw new ProtocolException("message sent before the authentication request");
        } else if (phase == Phase.AUTH) {
            ByteBuf buf = (ByteBuf) msg;
            // A reference of our own past the scan, which stops at the message that completes the
            // login: what follows it in this read is the session's, as in a later read (and as
            // PostgreSQL reads it). Refused here, the same bytes were accepted or not by how TCP
            // cut them, and a header cut at the end of the read was dropped with the scanner.
            buf.retain();
            scanning = true;
            try {
                scanner.scan(buf, this);
                if (phase == Phase.IN && !closing && buf.isReadable()) {
                    rest = buf;
                    buf = null;
                }
            } finally {
                scanning = false;
                if (buf != null) {
                    buf.release();
                }
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
        if (phase == Phase.IN && !closing) {
            handOver(c);
            if (rest != null) {
                // This context now leads to the session that replaced it.
                c.fireChannelRead(rest);
            }
        } else if (rest != null) {
            rest.release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) {
        Phase was = phase;
        phase = Phase.DONE;
        stopTimeout();
        leavePending();
        if (counted) {
            ctx.clients().decrementAndGet();
        }
        if (admitted) {
            ctx.pools().releaseClient(database, user);
        }
        if (scanner != null) {
            scanner.release();
        }
        if (lookup != null) {
            lookup.abandon();
            lookup = null;
        }
        if (ctx.logDisconnections() && (was == Phase.LOOKUP || was == Phase.AUTH || was == Phase.IN)) {
            ctx.preAuthLog().info("{} closing because: {} (age={}s)", logId(),
                    closeReason != null ? closeReason : "client unexpected eof",
                    (System.currentTimeMillis() - connectMillis) / 1000);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
        ClientFailure f = ClientFailure.of(cause);
        if (!closing) {
            ctx.preAuthLog().info("{} {}: {}", logId(), f.protocol() ? "protocol error" : "closing",
                    f.cause().getMessage());
        }
        if (f.sqlState() != null) {
            fatal(f.sqlState(), f.message());
        } else {
            closing = true;
            channel.close();
        }
    }

    // ---- start-up ----

    private void onStartupRequest(StartupRequest request) {
        if (phase != Phase.STARTUP) {
            throw new ProtocolException("unexpected start-up packet after the StartupMessage");
        }
        if (request instanceof StartupRequest.SslRequest ssl) {
            onSslRequest(ssl);
            return;
        }
        if (request instanceof StartupRequest.GssEncRequest) {
            // No GSS encryption: 'N' tells the client to go on in plaintext (or ask for TLS).
            channel.writeAndFlush(channel.alloc().buffer(1).writeByte('N'), channel.voidPromise());
            return;
        }
        if (request instanceof StartupRequest.CancelRequest cancel) {
            // Closed once the cancel is over: libpq's PQcancel returns at that close, and its
            // caller may then count on the cancel having been acted on.
            phase = Phase.DONE;
            stopTimeout();
            leavePending();
            channel.config().setAutoRead(false);
            ctx.cancels().cancel(cancel.processId(), cancel.secretKey(), channel);
            return;
        }
        StartupRequest.Startup startup = (StartupRequest.Startup) request;
        scanner = new MessageScanner(channel.alloc(), MAX_AUTH_MESSAGE, MAX_AUTH_MESSAGE, MemoryBudget.NONE);
        user = startup.user();
        database = startup.database();
        SslHandler tls = tlsHandler();
        if (tls == null && ctx.clientTls().required() && !isUnixSocket()) {
            // Before anything else is looked at: a client that should have encrypted learns
            // nothing more in plaintext (PgBouncer's words).
            fatal(SqlState.PROTOCOL_VIOLATION, "SSL required");
            return;
        }
        if (tls != null && !sslAnswered && !ClientTls.ALPN.equals(tls.applicationProtocol())) {
            // Direct TLS (PostgreSQL 17's sslnegotiation=direct) must have chosen "postgresql" by
            // ALPN: otherwise the handshake may have been meant for another protocol on this port.
            fatal(SqlState.PROTOCOL_VIOLATION,
                    "received direct SSL connection request without ALPN protocol negotiation extension");
            return;
        }
        if (user == null || user.isEmpty()) {
            fatal(SqlState.INVALID_AUTHORIZATION, "no PostgreSQL user name specified in startup packet");
            return;
        }
        Settings settings = ctx.config().settings();
        if (!ConsoleRoute.isConsole(database) && ctx.clients().get() > settings.maxClientConn()) {
            fatal(SqlState.PROTOCOL_VIOLATION, "no more connections allowed (max_client_conn)");
            return;
        }
        ByteBuf out = channel.alloc().buffer();
        tracked = new TrackedParameters(ctx.trackedNames());
        String problem = StartupCheck.apply(startup, settings, tracked, channel.remoteAddress(), out);
        if (problem != null) {
            out.release();
            fatal(SqlState.PROTOCOL_VIOLATION, problem);
            return;
        }
        AuthChoice.Method method = AuthChoice.method(ctx, channel, database, user, tls != null);
        if (method.refusal() != null) {
            out.release();
            ctx.preAuthLog().info("{} {}", logId(), method.why());
            fatal(SqlState.PROTOCOL_VIOLATION, method.refusal());
            return;
        }
        AuthType type = method.type();
        java.security.cert.X509Certificate cert = peerCertificate(tls);
        if (startLookup(type, cert, out)) {
            return;
        }
        phase = Phase.AUTH;
        auth = new ClientAuth(ctx, user);
        ClientAuth.Step step = auth.begin(out, type, cert);
        channel.writeAndFlush(out, channel.voidPromise());
        afterAuthStep(step);
    }

    /**
     * auth_query (see {@link AuthChoice#lookup}): the user's secret is looked up before the
     * exchange starts. True when a lookup was started (or the client refused); {@code out} is
     * written then.
     */
    private boolean startLookup(AuthType type, java.security.cert.X509Certificate cert, ByteBuf out) {
        AuthChoice.Lookup l = AuthChoice.lookup(ctx, type, database, user);
        if (l == null) {
            return false;
        }
        String authUser = l.authUser();
        channel.writeAndFlush(out, channel.voidPromise());
        java.util.Optional<Pool> authPool = ConsoleRoute.isConsole(l.authDatabase()) ? java.util.Optional.empty()
                : ctx.pools().authPool(l.authDatabase(), authUser);
        if (authPool.isEmpty()) {
            log.error("{} authentication database \"{}\" is not configured", logId(), l.authDatabase());
            fatal(SqlState.PROTOCOL_VIOLATION, "bouncer config error");
            return true;
        }
        phase = Phase.LOOKUP;
        lookup = new AuthLookup(id, channel, authPool.get().shard(ctx.pools().loopIndex(channel.eventLoop())),
                l.query(), user, new AuthLookup.Result() {
            @Override
            public void found(Secret secret) {
                lookup = null;
                if (closing || phase != Phase.LOOKUP) {
                    return;
                }
                ctx.pools().lookedUp(database, user, secret);
                phase = Phase.AUTH;
                auth = new ClientAuth(ctx, user, secret);
                ByteBuf next = channel.alloc().buffer();
                ClientAuth.Step step = auth.begin(next, type, cert);
                channel.writeAndFlush(next, channel.voidPromise());
                afterAuthStep(step);
            }

            @Override
            public void failed(String why) {
                lookup = null;
                if (closing || phase != Phase.LOOKUP) {
                    return;
                }
                log.warn("{} auth_query as {} in {} failed: {}", logId(), authUser, authPool.get().config().database(), why);
                fatal(SqlState.PROTOCOL_VIOLATION, "authentication lookup failed (auth_query)");
            }
        });
        lookup.start();
        return true;
    }

    /**
     * SSLRequest: 'S' and a TLS handshake where client TLS is on and the socket is TCP, else 'N'.
     * Anything the client sent after the request and before the answer is refused, not read
     * (see {@link StartupRequest.SslRequest}): once the SslHandler is in place, plaintext that
     * arrives later fails the handshake instead.
     */
    private void onSslRequest(StartupRequest.SslRequest ssl) {
        if (tlsHandler() != null) {
            ctx.preAuthLog().info("{} closing: SSL request inside SSL", logId());
            closing = true;
            channel.close();
            return;
        }
        ClientTls tls = ctx.clientTls();
        if (!tls.accepts() || isUnixSocket()) {
            channel.writeAndFlush(channel.alloc().buffer(1).writeByte('N'), channel.voidPromise());
            return;
        }
        if (ssl.followedByData()) {
            ctx.preAuthLog().info("{} closing: received unencrypted data after SSL request", logId());
            fatal(SqlState.PROTOCOL_VIOLATION, "received unencrypted data after SSL request");
            return;
        }
        sslAnswered = true;
        // 'S' is written before the handler is in the pipeline, so it alone goes out in plaintext.
        channel.writeAndFlush(channel.alloc().buffer(1).writeByte('S'), channel.voidPromise());
        channel.pipeline().addFirst(TLS_HANDLER, tls.newHandler(channel.alloc()));
    }

    /** The pipeline's TLS handler name (also the one {@link DirectTls} puts in). */
    static final String TLS_HANDLER = "tls";

    private SslHandler tlsHandler() {
        return channel.pipeline().get(SslHandler.class);
    }

    private boolean isUnixSocket() {
        return !(channel.remoteAddress() instanceof java.net.InetSocketAddress);
    }

    /** The certificate the client showed in its TLS handshake (verified by then), null for none. */
    private static java.security.cert.X509Certificate peerCertificate(SslHandler tls) {
        if (tls == null) {
            return null;
        }
        try {
            java.security.cert.Certificate[] chain = tls.engine().getSession().getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof java.security.cert.X509Certificate x ? x : null;
        } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
            return null;
        }
    }

    /** {@code TLSv1.3/TLS_AES_256_GCM_SHA384}, or no: PgBouncer's tls= in log lines. */
    private String tlsInfo() {
        String tls = io.sluice.pool.TlsInfo.of(channel);
        return tls.isEmpty() ? "no" : tls;
    }

    private void afterAuthStep(ClientAuth.Step step) {
        if (step == ClientAuth.Step.FAILED) {
            ctx.preAuthLog().info("{} login failed: {}", logId(), auth.failure());
            fatal(SqlState.INVALID_PASSWORD, auth.failureMessage());
        } else if (step == ClientAuth.Step.OK) {
            authenticated();
        }
    }

    private void authenticated() {
        if (ConsoleRoute.isConsole(database) && ctx.console() != null) {
            auth = null;
            if (!ctx.console().allows(user)) {
                ctx.preAuthLog().info("{} not allowed on the admin console", logId());
                fatal(SqlState.PROTOCOL_VIOLATION, "not allowed");
                return;
            }
            if (ctx.logConnections()) {
                log.info("{} login attempt: db={} user={} tls={} replication=no", logId(), database, user, tlsInfo());
            }
            phase = Phase.IN;
            return;
        }
        if (ctx.isShuttingDown()) {
            fatal(SqlState.PROTOCOL_VIOLATION, "pooler is shutting down");
            return;
        }
        if (ctx.pools().disabled(database)) {
            fatal(SqlState.PROTOCOL_VIOLATION, "database \"" + database + "\" is disabled");
            return;
        }
        Optional<Pool> p = ctx.pools().pool(database, user);
        if (p.isEmpty()) {
            log.info("{} no such database", logId());
            fatal(SqlState.PROTOCOL_VIOLATION, "no such database: " + database);
            return;
        }
        String refused = ctx.pools().admitClient(database, user);
        if (refused != null) {
            fatal(SqlState.PROTOCOL_VIOLATION, refused);
            return;
        }
        admitted = true;
        pool = p.get();
        if (ctx.logConnections()) {
            log.info("{} login attempt: db={} user={} tls={} replication=no", logId(), database, user, tlsInfo());
        }
        if (auth.scram() != null && auth.secretIsScram() && auth.scram().succeeded()) {
            pool.rememberScramKeys(auth.scram().clientKey(), auth.scram().keys().serverKey());
        }
        auth = null;
        phase = Phase.IN;
    }

    /** Replaces this handler with the client's session, which takes over the channel and its count. */
    private void handOver(ChannelHandlerContext c) {
        phase = Phase.DONE;
        stopTimeout();
        leavePending();
        scanner.release();
        scanner = null;
        // Logged in: what it sent may now be kept in shared tables (never before: an
        // unauthenticated client must leave nothing behind).
        tracked.authenticated();
        counted = false;
        admitted = false;
        if (pool == null) {
            // The admin console: counted out when it closes, as a pool's client is by its session.
            channel.closeFuture().addListener(f -> ctx.clients().decrementAndGet());
            c.pipeline().replace(this, "console", ctx.console().open(id, user, database, connectMillis,
                    tracked.requested("application_name")));
            return;
        }
        ClientSession session = new ClientSession(ctx, id, ctx.trackedNames().share(database),
                ctx.trackedNames().share(user), tracked, pool, connectMillis);
        c.pipeline().replace(this, "session", session);
    }

    private void stopTimeout() {
        if (loginTimeout != null) {
            loginTimeout.cancel(false);
            loginTimeout = null;
        }
    }

    // ---- MessageScanner.Sink: password messages ----

    @Override
    public int classify(byte type, int bodyLength, ByteBuf in) {
        if (phase != Phase.AUTH) {
            // Not reached: the scan stops at the message that ends the authentication (see
            // onMessage). Kept as a clear error should that change, rather than bytes misread.
            throw new ProtocolException("message type " + (char) type + " sent before authentication completed");
        }
        if (type != FrontendCodes.PASSWORD) {
            throw new ProtocolException("expected password response, got message type " + (char) type);
        }
        return MessageScanner.CONSUME;
    }

    @Override
    public boolean onMessage(byte type, ByteBuf body) {
        ByteBuf out = channel.alloc().buffer();
        ClientAuth.Step step;
        try {
            step = auth.onPasswordMessage(body, out);
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
        if (out.isReadable()) {
            channel.write(out, channel.voidPromise());
        } else {
            out.release();
        }
        if (step == ClientAuth.Step.CONTINUE) {
            channel.flush();
        }
        afterAuthStep(step);
        // A failed login is over (its FATAL is on its way): no later password message of the
        // same read may be tried against the same salt. A login that succeeded stops the scan
        // too: the rest of the read goes to the session (see channelRead).
        return !closing && phase == Phase.AUTH;
    }

    @Override
    public void forward(ByteBuf run) {
        // Nothing is relayed before login: classify consumes or refuses every message.
        run.release();
    }

    /** Sends FATAL with the pooler's message and closes once it is written. */
    private void fatal(String sqlState, String message) {
        if (closing) {
            return;
        }
        closing = true;
        closeReason = message;
        if (ctx.config().settings().booleanValue("log_pooler_errors")) {
            ctx.preAuthLog().warn("{} pooler error: {}", logId(), message);
        }
        sendFatal(channel, sqlState, message);
    }

    /** {@code C-12 db/user@127.0.0.1:5544}, with names cut short: anyone may send a 10 kB user name. */
    static String logId(long id, String database, String user, Channel channel) {
        return "C-" + id + ": " + shortName(database, "(nodb)") + "/" + shortName(user, "(nouser)")
                + "@" + (channel == null ? "?" : SocketNames.hostPort(channel.remoteAddress()));
    }

    private static String shortName(String name, String none) {
        if (name == null) {
            return none;
        }
        return name.length() <= 64 ? name : name.substring(0, 60) + "...";
    }

    /** Stops reading from {@code channel}, sends it FATAL and closes it once that is written. */
    static void sendFatal(Channel channel, String sqlState, String message) {
        if (!channel.isActive()) {
            channel.close();
            return;
        }
        channel.config().setAutoRead(false);
        ByteBuf out;
        try {
            out = channel.alloc().buffer();
        } catch (OutOfMemoryError e) {
            // No memory left even for the error: the client learns of it from the close alone.
            channel.close();
            return;
        }
        PgWriter.error(out, "FATAL", sqlState, message);
        channel.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
}
