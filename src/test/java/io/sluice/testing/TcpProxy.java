package io.sluice.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A TCP proxy on 127.0.0.1 that a fault test puts between Sluice and PostgreSQL: it relays
 * bytes both ways, and on command stalls (relays nothing, sockets kept open: a frozen network),
 * drops (resets every connection), refuses new connections, and resumes.
 *
 * <p>One thread, a selector, at most {@link #MAX_CONNECTIONS} connections: a test that leaks
 * connections is told so rather than running the machine out of sockets. Every command returns
 * once the proxy acts on it, so a test's next step sees the fault in place.
 */
public final class TcpProxy implements AutoCloseable {
    /** Which way bytes stop: UPSTREAM is client to server. */
    public enum Direction { UPSTREAM, DOWNSTREAM, BOTH }

    /** Past this, connections are accepted and closed at once. */
    public static final int MAX_CONNECTIONS = 64;
    private static final int BUFFER = 64 * 1024;
    /** Listen backlog while relaying; while stalled it is 1, filled so that connects hang. */
    private static final int BACKLOG = 64;

    private final InetSocketAddress listen;
    private final InetSocketAddress upstream;
    private final Selector selector;
    private final Queue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final Set<Pipe> pipes = new HashSet<>();
    private final Thread thread;

    // Touched only on the proxy's thread.
    /** Accepting and relaying; null while refusing or holding connects. */
    private ServerSocketChannel listener;
    /** A listener that accepts nothing, its queue filled by {@link #plugs}: connects to it hang. */
    private ServerSocketChannel held;
    private final List<SocketChannel> plugs = new ArrayList<>();
    private boolean stallUp;
    private boolean stallDown;
    private volatile int accepted;
    private volatile boolean closed;

    private TcpProxy(int upstreamPort) throws IOException {
        this.upstream = new InetSocketAddress("127.0.0.1", upstreamPort);
        this.selector = Selector.open();
        this.listener = bind(new InetSocketAddress("127.0.0.1", 0), BACKLOG);
        this.listen = (InetSocketAddress) listener.getLocalAddress();
        listener.register(selector, SelectionKey.OP_ACCEPT);
        thread = new Thread(this::loop, "tcp-proxy-" + listen.getPort());
        thread.setDaemon(true);
        thread.start();
    }

    /** A proxy on a free port of 127.0.0.1 to {@code 127.0.0.1:upstreamPort}, relaying. */
    public static TcpProxy start(int upstreamPort) {
        try {
            return new TcpProxy(upstreamPort);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int port() {
        return listen.getPort();
    }

    /** Connections accepted and relayed so far. */
    public int accepted() {
        return accepted;
    }

    /** Connections open now. */
    public int connections() {
        return call(pipes::size);
    }

    /**
     * A frozen network: no byte moves either way on any connection, current or new, and new
     * connects hang (their SYN unanswered, as to a host gone silent) rather than complete.
     */
    public void stall() {
        call(() -> {
            stallUp = true;
            stallDown = true;
            pipes.forEach(Pipe::update);
            closeListener();
            hold();
            return null;
        });
    }

    /** No byte moves in {@code direction} on any connection, current or new; connects go on. */
    public void stall(Direction direction) {
        call(() -> {
            stallUp = direction != Direction.DOWNSTREAM;
            stallDown = direction != Direction.UPSTREAM;
            pipes.forEach(Pipe::update);
            return null;
        });
    }

    /** Resets every current connection (RST both ways); returns how many there were. */
    public int drop() {
        return call(() -> {
            int n = pipes.size();
            for (Pipe p : new ArrayList<>(pipes)) {
                p.close(true);
            }
            flushCloses();
            return n;
        });
    }

    /** Closes the listening socket: new connects are refused; current connections go on. */
    public void refuse() {
        call(() -> {
            closeListener();
            unhold();
            return null;
        });
    }

    /** Relays both ways again and accepts new connections. */
    public void resume() {
        call(() -> {
            stallUp = false;
            stallDown = false;
            unhold();
            if (listener == null) {
                listener = bind(listen, BACKLOG);
                listener.register(selector, SelectionKey.OP_ACCEPT);
            }
            pipes.forEach(Pipe::update);
            return null;
        });
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        call(() -> {
            for (Pipe p : new ArrayList<>(pipes)) {
                p.close(false);
            }
            closeListener();
            unhold();
            return null;
        });
        closed = true;
        selector.wakeup();
        try {
            thread.join(5_000);
            selector.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- on the proxy's thread ----

    private static ServerSocketChannel bind(InetSocketAddress at, int backlog) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open();
        // The port is bound again after refuse() and stall(), with connections through it open
        // or in TIME_WAIT: without SO_REUSEADDR that bind fails.
        s.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        s.bind(at, backlog);
        s.configureBlocking(false);
        return s;
    }

    private void closeListener() throws IOException {
        if (listener != null) {
            listener.close();
            listener = null;
            flushCloses();
        }
    }

    /**
     * A channel registered with the selector is closed only when the selector next drops its
     * key: until then a listener still holds its port (the bind again fails) and a reset
     * connection sends no RST.
     */
    private void flushCloses() throws IOException {
        selector.selectNow();
    }

    /**
     * Binds a listener that accepts nothing, with a backlog of 1, and fills its queue: Linux
     * drops a SYN to a full queue, so a connect hangs until its own timeout, as it does to a
     * frozen network. A listener merely not accepting would let the kernel complete handshakes.
     */
    private void hold() throws IOException, InterruptedException {
        if (held != null) {
            return;
        }
        held = bind(listen, 1);
        for (int i = 0; i < 8; i++) {
            SocketChannel plug = SocketChannel.open();
            plug.configureBlocking(false);
            plugs.add(plug);
            boolean done = plug.connect(listen);
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
            while (!done && System.nanoTime() < deadline) {
                Thread.sleep(5);
                done = plug.finishConnect();
            }
            if (!done) {
                return;
            }
        }
        throw new IllegalStateException("the listen queue of port " + port() + " would not fill");
    }

    private void unhold() throws IOException {
        for (SocketChannel p : plugs) {
            p.close();
        }
        plugs.clear();
        if (held != null) {
            held.close();
            held = null;
        }
    }

    private <T> T call(java.util.concurrent.Callable<T> command) {
        if (closed) {
            throw new IllegalStateException("proxy closed");
        }
        FutureTask<T> task = new FutureTask<>(command);
        commands.add(task);
        selector.wakeup();
        try {
            return task.get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("proxy command failed", e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("proxy thread did not answer in 10 s");
        }
    }

    private void loop() {
        while (!closed) {
            try {
                selector.select(1_000);
                for (Runnable r; (r = commands.poll()) != null; ) {
                    r.run();
                }
                for (SelectionKey k : selector.selectedKeys()) {
                    if (!k.isValid()) {
                        continue;
                    }
                    if (k.isAcceptable()) {
                        accept();
                    } else {
                        ((Pipe) k.attachment()).ready(k);
                    }
                }
                selector.selectedKeys().clear();
            } catch (IOException | RuntimeException e) {
                // A selector failure: the proxy is no use any more; tests see their connections end.
                System.err.println("tcp-proxy-" + port() + ": " + e);
                return;
            }
        }
    }

    private void accept() throws IOException {
        if (listener == null) {
            return;
        }
        SocketChannel client = listener.accept();
        if (client == null) {
            return;
        }
        if (pipes.size() >= MAX_CONNECTIONS) {
            System.err.println("tcp-proxy-" + port() + ": more than " + MAX_CONNECTIONS + " connections, closing one");
            client.close();
            return;
        }
        accepted++;
        client.configureBlocking(false);
        SocketChannel server = SocketChannel.open();
        server.configureBlocking(false);
        server.setOption(StandardSocketOptions.TCP_NODELAY, true);
        client.setOption(StandardSocketOptions.TCP_NODELAY, true);
        Pipe p = new Pipe(client, server);
        pipes.add(p);
        p.clientKey = client.register(selector, 0, p);
        p.serverKey = server.register(selector, 0, p);
        try {
            p.connected = server.connect(upstream);
        } catch (IOException e) {
            p.close(true);
            return;
        }
        p.update();
    }

    /** One relayed connection: the client's socket, the server's, and a buffer each way. */
    private final class Pipe {
        final SocketChannel client;
        final SocketChannel server;
        SelectionKey clientKey;
        SelectionKey serverKey;
        /** Client to server, in fill mode: position is how much waits to be written. */
        final ByteBuffer up = ByteBuffer.allocate(BUFFER);
        final ByteBuffer down = ByteBuffer.allocate(BUFFER);
        boolean connected;
        boolean clientEof;
        boolean serverEof;
        boolean upShut;
        boolean downShut;

        Pipe(SocketChannel client, SocketChannel server) {
            this.client = client;
            this.server = server;
        }

        /** Interest in what may move now: nothing in a stalled direction, not even an EOF. */
        void update() {
            if (!clientKey.isValid() || !serverKey.isValid()) {
                return;
            }
            int c = 0;
            int s = 0;
            if (!connected) {
                s = SelectionKey.OP_CONNECT;
            } else {
                if (!stallUp) {
                    if (!clientEof && up.hasRemaining()) {
                        c |= SelectionKey.OP_READ;
                    }
                    if (up.position() > 0) {
                        s |= SelectionKey.OP_WRITE;
                    }
                }
                if (!stallDown) {
                    if (!serverEof && down.hasRemaining()) {
                        s |= SelectionKey.OP_READ;
                    }
                    if (down.position() > 0) {
                        c |= SelectionKey.OP_WRITE;
                    }
                }
            }
            clientKey.interestOps(c);
            serverKey.interestOps(s);
        }

        void ready(SelectionKey k) {
            try {
                if (k == serverKey && k.isConnectable()) {
                    server.finishConnect();
                    connected = true;
                } else {
                    boolean isClient = k == clientKey;
                    if (k.isReadable()) {
                        if ((isClient ? client.read(up) : server.read(down)) < 0) {
                            if (isClient) {
                                clientEof = true;
                            } else {
                                serverEof = true;
                            }
                        }
                    }
                    if (k.isValid() && k.isWritable()) {
                        write(isClient ? client : server, isClient ? down : up);
                    }
                }
                // An EOF passes on as one, once what came before it has: PostgreSQL and Sluice
                // each close on their own side, and the pipe closes when both have.
                if (clientEof && up.position() == 0 && !upShut) {
                    upShut = true;
                    server.shutdownOutput();
                }
                if (serverEof && down.position() == 0 && !downShut) {
                    downShut = true;
                    client.shutdownOutput();
                }
                if (upShut && downShut) {
                    close(false);
                } else {
                    update();
                }
            } catch (IOException e) {
                // A reset or a refused upstream: the other side is reset too, as a network would.
                close(true);
            }
        }

        private void write(SocketChannel to, ByteBuffer b) throws IOException {
            b.flip();
            try {
                to.write(b);
            } finally {
                b.compact();
            }
        }

        void close(boolean reset) {
            pipes.remove(this);
            for (SocketChannel ch : new SocketChannel[] {client, server}) {
                try {
                    if (reset && ch.isOpen()) {
                        // Linger 0: close sends RST, not FIN, as when a connection is lost.
                        ch.setOption(StandardSocketOptions.SO_LINGER, 0);
                    }
                    ch.close();
                } catch (IOException ignored) {
                    // Closing anyway.
                }
            }
        }
    }
}
