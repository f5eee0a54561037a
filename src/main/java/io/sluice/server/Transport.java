package io.sluice.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.sluice.config.TcpSettings;
import java.util.LinkedHashMap;
import java.util.Map;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringBufferRingConfig;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringDomainSocketChannel;
import io.netty.channel.uring.IoUringFixedBufferRingAllocator;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringIoHandlerConfig;
import io.netty.channel.uring.IoUringServerDomainSocketChannel;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutorChooserFactory;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;

/**
 * The socket transport, chosen once at start. {@code auto} (the default) takes io_uring where the
 * kernel offers it, else native epoll (Linux), else NIO; {@code --transport} names one.
 *
 * <p>io_uring is first because of what the benchmark measured (docs/benchmarks.md): a relay
 * wakes a peer at almost every send, and with epoll each send is its own system call, after
 * which the scheduler often switches to the woken process. io_uring submits a loop's sends
 * together, so the pooler is interrupted less and spends less CPU per transaction.
 */
record Transport(
        String name,
        IoHandlerFactory ioHandler,
        Class<? extends ServerChannel> serverChannel,
        Class<? extends Channel> socketChannel,
        Class<? extends ServerChannel> serverDomainChannel,
        Class<? extends Channel> domainChannel,
        boolean nativeDomainAddress,
        /** Why a transport before this one (in the auto order, or the one asked for) is not used; null if none. */
        String fallbackReason,
        /** io_uring only: connections read from the loop's buffer ring ({@link #BUFFER_GROUP}). */
        boolean bufferRing) {

    /** The names {@link #choose} takes. */
    static final List<String> NAMES = List.of("auto", "io_uring", "epoll", "nio");

    /**
     * Netty's multishot receive and accept (4.2.18) re-arm themselves when the kernel ends them
     * (the loop's buffer ring ran dry, say) whether or not the channel still asks to read: a
     * channel with autoRead off kept reading, so a client that stopped reading a large result had
     * its server's bytes piled up in Sluice without bound (six such clients took it past 3 GB),
     * and a listener paused after a failed accept kept failing millions of times a minute.
     * Single-shot operations honour autoRead; they still take their buffers from the ring. Read
     * by Netty once, when its io_uring class first loads, so set before anything touches it; a
     * value given on the command line is kept (and then checked, see {@link #ioUringHonoursAutoRead}).
     */
    private static final String RECV_MULTISHOT = "io.netty.iouring.recvMultiShotEnabled";
    private static final String ACCEPT_MULTISHOT = "io.netty.iouring.acceptMultiShotEnabled";

    static {
        if (System.getProperty(RECV_MULTISHOT) == null) {
            System.setProperty(RECV_MULTISHOT, "false");
        }
        if (System.getProperty(ACCEPT_MULTISHOT) == null) {
            System.setProperty(ACCEPT_MULTISHOT, "false");
        }
    }

    /** False when multishot receive is on after all (set so on the command line): backpressure would not hold. */
    static boolean ioUringHonoursAutoRead() {
        return !IoUring.isRecvMultishotEnabled() && !IoUring.isAcceptMultishotEnabled();
    }

    /** {@code want}: one of {@link #NAMES}; a transport this system lacks falls back in the auto order. */
    static Transport choose(String want) {
        String w = want == null ? "auto" : want;
        if (!NAMES.contains(w)) {
            throw new IllegalArgumentException("unknown transport '" + want + "': use one of " + NAMES);
        }
        StringBuilder why = new StringBuilder();
        if (w.equals("auto") || w.equals("io_uring")) {
            if (IoUring.isAvailable() && ioUringHonoursAutoRead()) {
                return ioUring();
            }
            why.append("io_uring unavailable: ").append(IoUring.isAvailable()
                    ? "multishot receive or accept is enabled (" + RECV_MULTISHOT + ", " + ACCEPT_MULTISHOT
                            + "), which ignores backpressure"
                    : IoUring.unavailabilityCause());
        }
        if (!w.equals("nio")) {
            if (Epoll.isAvailable()) {
                return epoll(reason(why));
            }
            why.append(why.length() > 0 ? "; " : "").append("epoll unavailable: ").append(Epoll.unavailabilityCause());
        }
        return nio(w.equals("nio") ? null : reason(why));
    }

    private static String reason(StringBuilder why) {
        return why.length() == 0 ? null : why.toString();
    }

    /** The one buffer group of a loop's io_uring, which every connection reads from. */
    private static final short BUFFER_GROUP = 1;
    /** Read buffers per loop: PostgreSQL sends in 8 kB pieces; 256 of them are 2 MB a loop. */
    private static final int RING_BUFFERS = 256;
    private static final int RING_BUFFER_SIZE = 8192;

    private static Transport ioUring() {
        IoUringIoHandlerConfig cfg = new IoUringIoHandlerConfig();
        boolean ring = IoUring.isRegisterBufferRingSupported();
        if (ring) {
            // Reads take buffers from a ring the kernel fills (multishot receive where the kernel
            // has it): no receive to submit and no buffer to allocate per read. Measured side by
            // side with pgbench: 5-10% less CPU per transaction at 1,000 and 5,000 clients.
            cfg.setBufferRingConfig(IoUringBufferRingConfig.builder()
                    .bufferGroupId(BUFFER_GROUP)
                    .bufferRingSize((short) RING_BUFFERS)
                    .batchSize(RING_BUFFERS / 8)
                    .allocator(new IoUringFixedBufferRingAllocator(RING_BUFFER_SIZE))
                    .build());
        }
        return new Transport("io_uring", IoUringIoHandler.newFactory(cfg), IoUringServerSocketChannel.class,
                IoUringSocketChannel.class, IoUringServerDomainSocketChannel.class, IoUringDomainSocketChannel.class,
                true, null, ring);
    }

    private static Transport epoll(String fallbackReason) {
        return new Transport("epoll", EpollIoHandler.newFactory(), EpollServerSocketChannel.class,
                EpollSocketChannel.class, EpollServerDomainSocketChannel.class, EpollDomainSocketChannel.class,
                true, fallbackReason, false);
    }

    private static Transport nio(String fallbackReason) {
        return new Transport("nio", NioIoHandler.newFactory(), NioServerSocketChannel.class, NioSocketChannel.class,
                NioServerDomainSocketChannel.class, NioDomainSocketChannel.class, false, fallbackReason, false);
    }

    /** Options for accepted client connections that depend on the transport. */
    void clientOptions(ServerBootstrap b) {
        if (bufferRing) {
            b.childOption(IoUringChannelOption.IO_URING_BUFFER_GROUP_ID, BUFFER_GROUP);
        }
    }

    /**
     * tcp_keepalive and the other tcp_* settings as this transport's channel options, for a TCP
     * connection either side; a setting at 0 is left out (the system's default). NIO has no
     * TCP_USER_TIMEOUT: it is left out there.
     */
    Map<ChannelOption<?>, Object> tcpOptions(TcpSettings t) {
        Map<ChannelOption<?>, Object> o = new LinkedHashMap<>();
        o.put(ChannelOption.SO_KEEPALIVE, t.keepalive());
        if (t.socketBuffer() > 0) {
            o.put(ChannelOption.SO_SNDBUF, t.socketBuffer());
            o.put(ChannelOption.SO_RCVBUF, t.socketBuffer());
        }
        if (!t.keepalive()) {
            return o;
        }
        switch (name) {
            case "io_uring" -> {
                putPositive(o, IoUringChannelOption.TCP_KEEPIDLE, t.keepIdle());
                putPositive(o, IoUringChannelOption.TCP_KEEPINTVL, t.keepInterval());
                putPositive(o, IoUringChannelOption.TCP_KEEPCNT, t.keepCount());
                putPositive(o, IoUringChannelOption.TCP_USER_TIMEOUT, t.userTimeoutMillis());
            }
            case "epoll" -> {
                putPositive(o, EpollChannelOption.TCP_KEEPIDLE, t.keepIdle());
                putPositive(o, EpollChannelOption.TCP_KEEPINTVL, t.keepInterval());
                putPositive(o, EpollChannelOption.TCP_KEEPCNT, t.keepCount());
                putPositive(o, EpollChannelOption.TCP_USER_TIMEOUT, t.userTimeoutMillis());
            }
            default -> {
                putPositive(o, NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE), t.keepIdle());
                putPositive(o, NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPINTERVAL), t.keepInterval());
                putPositive(o, NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPCOUNT), t.keepCount());
            }
        }
        return o;
    }

    private static void putPositive(Map<ChannelOption<?>, Object> o, ChannelOption<Integer> option, int value) {
        if (value > 0) {
            o.put(option, value);
        }
    }

    /** tcp_defer_accept on the listening sockets (io_uring and epoll; 0: off). */
    void listenOptions(ServerBootstrap b, int deferAcceptSeconds) {
        if (deferAcceptSeconds > 0 && name.equals("io_uring")) {
            b.option(IoUringChannelOption.TCP_DEFER_ACCEPT, deferAcceptSeconds);
        } else if (deferAcceptSeconds > 0 && name.equals("epoll")) {
            b.option(EpollChannelOption.TCP_DEFER_ACCEPT, deferAcceptSeconds);
        }
    }

    /** Options for connections to PostgreSQL that depend on the transport. */
    void serverOptions(Bootstrap b) {
        if (bufferRing) {
            b.option(IoUringChannelOption.IO_URING_BUFFER_GROUP_ID, BUFFER_GROUP);
        }
    }

    EventLoopGroup newGroup(int threads, EventExecutorChooserFactory chooser) {
        return new MultiThreadIoEventLoopGroup(threads, (Executor) null, chooser, ioHandler) {
            @Override
            protected ThreadFactory newDefaultThreadFactory() {
                return new DefaultThreadFactory("sluice-loop");  // thread names sluice-loop-1-1, ...
            }

            @Override
            protected IoEventLoop newChild(Executor executor, IoHandlerFactory factory, Object... args) {
                return new UntimedLoop(this, executor, factory);
            }
        };
    }

    /**
     * An event loop that waits for I/O without a timeout when it has no scheduled task. Netty's own
     * loop then still wakes once a second (its purge interval), and on io_uring that deadline is a
     * timeout request submitted with every wait and a completion reaped after it: at low load,
     * twice per query. The purge has nothing to do here: a task cancelled on its loop leaves the
     * queue at once, one cancelled from another thread at the loop's next wake-up (Sluice's
     * upkeep wakes every loop each second). A task or a scheduled task from another thread wakes
     * the loop as before, and a scheduled task's own deadline still bounds the wait.
     */
    static final class UntimedLoop extends SingleThreadIoEventLoop {
        UntimedLoop(IoEventLoopGroup parent, Executor executor, IoHandlerFactory factory) {
            super(parent, executor, factory);
        }

        @Override
        protected long deadlineNanos() {
            return nextScheduledTaskDeadlineNanos();
        }
    }

    /** A Unix socket address in the form this transport's channels take. */
    SocketAddress unixAddress(String path) {
        return nativeDomainAddress ? new DomainSocketAddress(path) : UnixDomainSocketAddress.of(path);
    }
}
