package io.sluice.bench;

import io.sluice.auth.Md5Auth;
import io.sluice.auth.Secret;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The idle-scale load tool of bench/run: opens N authenticated client connections to a pooler
 * (md5 or trust), keeps them open and idle while 1% of them run {@code SELECT 1} in a loop, and
 * prints progress lines the bench script reads ({@code HALF n}, {@code READY n}, {@code QUERIES n}).
 * At half the clients, and again with all of them before the queries start, it stops for
 * {@code idle.pauseMillis} (after printing {@code HALF n}, {@code READY n}), so that the
 * script can read the pooler's memory there too: what the second half adds is the marginal cost
 * of an idle client, without what the first logins cost once (JIT-compiled code, allocator
 * chunks) and without what the queries add.
 *
 * <p>One thread and one NIO selector, so the tool itself stays small next to 10,000 sockets.
 * Usage: {@code IdleScale host port user password database clients activeSeconds}.
 */
public final class IdleScale {
    private static final int STARTUP = 0;
    private static final int AUTH = 1;
    private static final int READY = 2;
    private static final int QUERY = 3;

    /** One client connection's protocol state and its partial input. */
    private static final class Conn {
        final SocketChannel ch;
        final boolean active;
        int state = STARTUP;
        ByteBuffer in = ByteBuffer.allocate(256);
        ByteBuffer out;

        Conn(SocketChannel ch, boolean active) {
            this.ch = ch;
            this.active = active;
        }
    }

    private IdleScale() {
    }

    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String user = args[2];
        String password = args[3];
        String database = args[4];
        int clients = Integer.parseInt(args[5]);
        int activeSeconds = Integer.parseInt(args[6]);
        int activeEvery = 100;

        Selector selector = Selector.open();
        List<Conn> conns = new ArrayList<>(clients);
        int ready = 0;
        long queries = 0;
        int opened = 0;
        boolean halfReported = false;
        long pauseMillis = Long.getLong("idle.pauseMillis", 0);
        long deadline = Long.MAX_VALUE;
        long start = System.nanoTime();
        while (true) {
            // Open in batches, so the pooler's accept queue is not flooded.
            int limit = ready < clients / 2 ? clients / 2 : clients;
            if (ready == clients / 2 && !halfReported) {
                halfReported = true;
                System.out.println("HALF " + ready);
                System.out.flush();
                Thread.sleep(pauseMillis);
            }
            while (opened < limit && opened - ready < 200) {
                SocketChannel ch = SocketChannel.open();
                ch.configureBlocking(false);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.connect(new InetSocketAddress(host, port));
                Conn c = new Conn(ch, opened % activeEvery == 0);
                conns.add(c);
                ch.register(selector, SelectionKey.OP_CONNECT, c);
                opened++;
            }
            selector.select(100);
            for (Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext();) {
                SelectionKey key = it.next();
                it.remove();
                Conn c = (Conn) key.attachment();
                try {
                    if (key.isConnectable()) {
                        c.ch.finishConnect();
                        c.out = startup(user, database);
                        key.interestOps(SelectionKey.OP_WRITE);
                    }
                    if (key.isValid() && key.isWritable()) {
                        c.ch.write(c.out);
                        if (!c.out.hasRemaining()) {
                            key.interestOps(SelectionKey.OP_READ);
                        }
                    }
                    if (key.isValid() && key.isReadable()) {
                        if (c.ch.read(c.in) < 0) {
                            throw new IOException("closed by the pooler");
                        }
                        int before = c.state;
                        boolean wasQuery = c.state == QUERY;
                        handle(c, user, password, key);
                        if (before != READY && c.state == READY && !wasQuery) {
                            ready++;
                            if (ready == clients) {
                                System.out.println("READY " + ready + " in "
                                        + (System.nanoTime() - start) / 1_000_000 + " ms");
                                System.out.flush();
                                Thread.sleep(pauseMillis);
                                deadline = System.nanoTime() + activeSeconds * 1_000_000_000L;
                            }
                        }
                        if (wasQuery && c.state == READY) {
                            queries++;
                        }
                    }
                } catch (IOException e) {
                    System.out.println("ERROR " + e.getMessage());
                    System.exit(1);
                }
            }
            if (ready == clients) {
                for (Conn c : conns) {
                    if (c.active && c.state == READY) {
                        c.out = query("SELECT 1");
                        c.state = QUERY;
                        c.ch.keyFor(selector).interestOps(SelectionKey.OP_WRITE);
                    }
                }
                if (System.nanoTime() > deadline) {
                    System.out.println("QUERIES " + queries);
                    System.out.flush();
                    // Stay connected until the bench script has read the pooler's memory.
                    Thread.sleep(Long.getLong("idle.holdMillis", 0));
                    return;
                }
            }
        }
    }

    /** Reads whole messages from the connection's input and moves its state on. */
    private static void handle(Conn c, String user, String password, SelectionKey key) throws IOException {
        c.in.flip();
        while (c.in.remaining() >= 5) {
            int len = c.in.getInt(c.in.position() + 1);
            if (c.in.remaining() < 1 + len) {
                break;
            }
            byte type = c.in.get();
            c.in.getInt();
            byte[] body = new byte[len - 4];
            c.in.get(body);
            if (type == 'R') {
                int code = ByteBuffer.wrap(body).getInt();
                if (code == 5) {
                    byte[] salt = {body[4], body[5], body[6], body[7]};
                    c.out = password(Md5Auth.clientResponse(user, new Secret.Plain(password), salt));
                    key.interestOps(SelectionKey.OP_WRITE);
                } else if (code == 3) {
                    c.out = password(password);
                    key.interestOps(SelectionKey.OP_WRITE);
                } else if (code != 0) {
                    throw new IOException("unsupported auth request " + code);
                }
                c.state = AUTH;
            } else if (type == 'E') {
                throw new IOException(new String(body, StandardCharsets.UTF_8));
            } else if (type == 'Z') {
                c.state = READY;
            }
        }
        c.in.compact();
        if (!c.in.hasRemaining()) {
            ByteBuffer bigger = ByteBuffer.allocate(c.in.capacity() * 2);
            c.in.flip();
            bigger.put(c.in);
            c.in = bigger;
        }
    }

    private static ByteBuffer startup(String user, String database) {
        byte[] params = ("user\0" + user + "\0database\0" + database + "\0\0").getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + params.length);
        b.putInt(8 + params.length).putInt(196608).put(params).flip();
        return b;
    }

    private static ByteBuffer password(String pw) {
        byte[] p = (pw + "\0").getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(5 + p.length);
        b.put((byte) 'p').putInt(4 + p.length).put(p).flip();
        return b;
    }

    private static ByteBuffer query(String sql) {
        byte[] q = (sql + "\0").getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(5 + q.length);
        b.put((byte) 'Q').putInt(4 + q.length).put(q).flip();
        return b;
    }
}
