package io.sluice.server;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.unix.Buffer;
import io.netty.channel.unix.Socket;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoEvent;
import io.netty.channel.uring.IoUringIoHandle;
import io.netty.channel.uring.IoUringIoOps;
import io.netty.util.concurrent.DefaultEventExecutorChooserFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;

/**
 * Below {@link BareRelay}, for the benchmark's analysis (docs/benchmarks.md): a one-to-one TCP
 * relay on Netty's io_uring event loop that skips Netty's channels altogether. Each direction of
 * a connection is an {@link IoUringIoHandle} that submits raw receive and send operations on its
 * own buffer: receive, send all of it, receive again. No pipeline, no outbound buffer, no
 * reference-counted buffers. It measures what a relay rewritten beneath Netty's channel layer
 * could save at one client.
 *
 * <p>Usage: {@code RawRelay listenPort targetHost targetPort}. One event loop; a main thread
 * accepts clients (polling every 100 ms) and connects each to the target. A tool, not a server:
 * errors close the connection pair, and nothing is logged.
 */
public final class RawRelay {
    // io_uring opcodes (include/uapi/linux/io_uring.h); Netty keeps its own constants private.
    private static final byte IORING_OP_SEND = 26;
    private static final byte IORING_OP_RECV = 27;
    private static final int BUFFER = 16384;

    private RawRelay() {}

    public static void main(String[] args) throws Exception {
        IoUring.ensureAvailability();
        int port = Integer.parseInt(args[0]);
        InetSocketAddress target = new InetSocketAddress(args[1], Integer.parseInt(args[2]));
        // Sluice's own io_uring loop (the untimed wait, the same ring setup), as BareRelay uses.
        IoEventLoop loop = (IoEventLoop) Transport.choose("io_uring")
                .newGroup(1, DefaultEventExecutorChooserFactory.INSTANCE).next();
        Socket listener = Socket.newSocketStream();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress("127.0.0.1", port));
        listener.listen(128);
        byte[] peer = new byte[32];
        System.out.println("RawRelay on 127.0.0.1:" + port + " to " + target);
        while (true) {
            int fd = listener.accept(peer);  // non-blocking: negative when none is waiting
            if (fd < 0) {
                Thread.sleep(100);
                continue;
            }
            Socket client = new Socket(fd);
            Socket server = Socket.newSocketStream();
            try {
                client.setTcpNoDelay(true);
                boolean connected = server.connect(target);
                for (int i = 0; !connected && i < 5000; i++) {
                    Thread.sleep(1);
                    connected = server.finishConnect();
                }
                if (!connected) {
                    throw new IOException("no connection to " + target);
                }
                server.setTcpNoDelay(true);
            } catch (IOException e) {
                client.close();
                server.close();
                continue;
            }
            Direction up = new Direction(client, server);
            Direction down = new Direction(server, client);
            up.other = down;
            down.other = up;
            loop.register(up).addListener(f -> up.start((IoRegistration) f.getNow()));
            loop.register(down).addListener(f -> down.start((IoRegistration) f.getNow()));
        }
    }

    /** One direction of a pair: receive from {@code from}, send all of it to {@code to}, again. */
    private static final class Direction implements IoUringIoHandle {
        private final Socket from;
        private final Socket to;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER);
        private final long address = Buffer.memoryAddress(buf);
        private Direction other;
        private IoRegistration registration;
        private int received;
        private int sent;
        private boolean closed;

        Direction(Socket from, Socket to) {
            this.from = from;
            this.to = to;
        }

        void start(IoRegistration r) {
            registration = r;
            receive();
        }

        private void receive() {
            registration.submit(new IoUringIoOps(IORING_OP_RECV, (byte) 0, (short) 0, from.intValue(), 0, address,
                    BUFFER, 0, (short) 0, (short) 0, (short) 0, 0, 0));
        }

        private void send() {
            registration.submit(new IoUringIoOps(IORING_OP_SEND, (byte) 0, (short) 0, to.intValue(), 0,
                    address + sent, received - sent, 0, (short) 0, (short) 0, (short) 0, 0, 0));
        }

        @Override
        public void handle(IoRegistration r, IoEvent event) {
            IoUringIoEvent e = (IoUringIoEvent) event;
            if (closed) {
                return;
            }
            if (e.res() <= 0) {  // end of stream or an error, either way
                close();
                return;
            }
            if (e.opcode() == IORING_OP_RECV) {
                received = e.res();
                sent = 0;
                send();
            } else if (e.opcode() == IORING_OP_SEND) {
                sent += e.res();
                if (sent < received) {
                    send();
                } else {
                    receive();
                }
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            if (registration != null) {
                registration.cancel();
            }
            try {
                from.close();
            } catch (IOException ignored) {
                // closing a pair after an error: nothing more to do with it
            }
            other.close();
        }
    }
}
