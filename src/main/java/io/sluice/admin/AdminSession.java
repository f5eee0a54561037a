package io.sluice.admin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.BackendCodes;
import io.sluice.protocol.FrontendCodes;
import io.sluice.protocol.MemoryBudget;
import io.sluice.protocol.MessageScanner;
import io.sluice.protocol.MessageTooLargeException;
import io.sluice.protocol.PgReader;
import io.sluice.protocol.PgWriter;
import io.sluice.protocol.ProtocolException;
import io.sluice.protocol.SqlState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One admin console client: the simple query protocol only, one command at a time. A command
 * that must look at other event loops (most SHOWs) answers later, on this client's loop;
 * reading stops meanwhile, so commands are answered in order. An error in a command is an
 * ERROR and the session goes on; the extended protocol closes it, as in PgBouncer.
 */
final class AdminSession extends ChannelInboundHandlerAdapter implements MessageScanner.Sink {
    private static final Logger log = LoggerFactory.getLogger(AdminSession.class);
    /** Console commands are short; a longer message is not one. */
    private static final int MAX_MESSAGE = 64 * 1024;

    private final Console console;
    private final long id;
    private final String user;
    private final boolean admin;
    private final long connectMillis;
    /** The application_name it logged in with (SHOW CLIENTS). */
    private final String applicationName;
    private Channel channel;
    private MessageScanner scanner;
    private boolean closing;

    AdminSession(Console console, long id, String user, boolean admin, long connectMillis, String applicationName) {
        this.console = console;
        this.applicationName = applicationName == null ? "" : applicationName;
        this.connectMillis = connectMillis;
        this.id = id;
        this.user = user;
        this.admin = admin;
    }

    String logId() {
        return "C-" + id + ": pgbouncer/" + user + "@"
                + (channel == null ? "?" : io.sluice.protocol.SocketNames.hostPort(channel.remoteAddress()));
    }

    /** True for admin_users (every command), false for stats_users (SHOW only). */
    boolean admin() {
        return admin;
    }

    String user() {
        return user;
    }

    long connectMillis() {
        return connectMillis;
    }

    String applicationName() {
        return applicationName;
    }

    long id() {
        return id;
    }

    Channel channel() {
        return channel;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext c) {
        channel = c.channel();
        scanner = new MessageScanner(channel.alloc(), MAX_MESSAGE, MAX_MESSAGE, MemoryBudget.NONE);
        console.joined(this);
        ByteBuf out = channel.alloc().buffer();
        PgWriter.authRequest(out, BackendCodes.AUTH_OK);
        console.welcome(out);
        PgWriter.backendKeyData(out, (int) id, 0);
        PgWriter.readyForQuery(out, (byte) 'I');
        channel.writeAndFlush(out, channel.voidPromise());

    }

    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) {
        if (closing) {
            ReferenceCountUtil.release(msg);
            return;
        }
        scanner.scan((ByteBuf) msg, this);
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) {
        scanner.release();
        console.left(this);
        if (console.logDisconnections()) {
            log.info("{} closing because: {} (age={}s)", logId(), closing ? "client close request"
                    : "client unexpected eof", (System.currentTimeMillis() - connectMillis) / 1000);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
        if (!closing) {
            log.info("{} {}: {}", logId(), cause instanceof ProtocolException ? "protocol error" : "closing",
                    cause.toString());
        }
        if (cause instanceof MessageTooLargeException || cause instanceof ProtocolException) {
            fatal(cause.getMessage());
        } else {
            closing = true;
            channel.close();
        }
    }

    @Override
    public int classify(byte type, int bodyLength, ByteBuf in) {
        switch (type) {
            case FrontendCodes.QUERY:
            case FrontendCodes.TERMINATE:
                return MessageScanner.CONSUME;
            case FrontendCodes.PARSE:
            case FrontendCodes.BIND:
            case FrontendCodes.EXECUTE:
                refuse("extended query protocol not supported by admin console");
                return MessageScanner.CONSUME;
            case FrontendCodes.SYNC:
            case FrontendCodes.DESCRIBE:
            case FrontendCodes.FLUSH:
            case FrontendCodes.FUNCTION_CALL:
            case FrontendCodes.CLOSE:
                refuse("unsupported packet type for admin console: " + type);
                return MessageScanner.CONSUME;
            case FrontendCodes.COPY_DATA:
            case FrontendCodes.COPY_DONE:
            case FrontendCodes.COPY_FAIL:
                // No COPY here: discarded, as PgBouncer does.
                return MessageScanner.CONSUME;
            default:
                throw new ProtocolException("unknown pkt");
        }
    }

    /** PgBouncer's answer to a message the console does not take: an ERROR, then FATAL "bad packet". */
    private void refuse(String message) {
        if (closing) {
            return;
        }
        ByteBuf out = channel.alloc().buffer();
        PgWriter.error(out, "ERROR", SqlState.PROTOCOL_VIOLATION, message);
        PgWriter.readyForQuery(out, (byte) 'I');
        channel.write(out, channel.voidPromise());
        fatal("bad packet");
    }

    @Override
    public boolean onMessage(byte type, ByteBuf body) {
        if (closing || type != FrontendCodes.QUERY && type != FrontendCodes.TERMINATE) {
            return !closing;
        }
        if (type == FrontendCodes.TERMINATE) {
            closing = true;
            channel.close();
            return false;
        }
        String text = PgReader.cstring(body);
        // One command at a time: reading stops until it is answered (PAUSE may take a while).
        channel.config().setAutoRead(false);
        console.run(this, text, this::answered);
        return true;
    }

    /**
     * A command's answer, on this loop: its result bytes (complete with CommandComplete), or the
     * error it failed with; then ReadyForQuery, and reading goes on.
     */
    private void answered(ByteBuf result, AdminException error) {
        if (!channel.isActive()) {
            if (result != null) {
                result.release();
            }
            return;
        }
        ByteBuf out = result != null ? result : channel.alloc().buffer();
        if (error != null) {
            PgWriter.error(out, "ERROR", error.sqlState(), error.getMessage());
        }
        PgWriter.readyForQuery(out, (byte) 'I');
        channel.writeAndFlush(out, channel.voidPromise());
        if (!closing) {
            channel.config().setAutoRead(true);
        }
    }

    /** Result callback of a console command: the bytes to send, or the error it failed with. */
    interface Answer {
        void send(ByteBuf result, AdminException error);
    }

    @Override
    public void forward(ByteBuf run) {
        run.release();
    }

    /** Ends the session with FATAL {@code message} (the extended protocol, an over-long message, KILL_CLIENT). */
    void fatal(String message) {
        if (closing) {
            return;
        }
        closing = true;
        channel.config().setAutoRead(false);
        ByteBuf out = channel.alloc().buffer();
        PgWriter.error(out, "FATAL", SqlState.PROTOCOL_VIOLATION, message);
        channel.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
}
