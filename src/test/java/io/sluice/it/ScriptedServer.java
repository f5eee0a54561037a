package io.sluice.it;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake PostgreSQL on loopback that does what a script says, for the servers a real one cannot
 * be made to be: broken, hostile, or recovering. Each connection's script is chosen by the
 * database name in its StartupMessage. Blocking sockets, a thread per connection: tests open a
 * handful.
 */
final class ScriptedServer implements AutoCloseable {
    /** What the fake does on one connection, after it read the StartupMessage. */
    @FunctionalInterface
    interface Script {
        void run(Conn c) throws IOException;
    }

    /** One accepted connection. */
    static final class Conn {
        final Socket socket;
        final DataInputStream in;
        final OutputStream out;
        final Map<String, String> startup = new HashMap<>();
        /** Connections this script has had before this one, counting from 0. */
        int attempt;

        Conn(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            this.out = socket.getOutputStream();
        }

        void send(byte[]... messages) throws IOException {
            for (byte[] m : messages) {
                out.write(m);
            }
            out.flush();
        }

        /** The next frontend message's type, its body read and dropped; -1 at end of stream. */
        int readMessage() throws IOException {
            int type;
            try {
                type = in.readUnsignedByte();
            } catch (EOFException e) {
                return -1;
            }
            int len = in.readInt();
            in.skipNBytes(len - 4);
            return type;
        }

        /** A login that works: AuthenticationOk, a few parameters, BackendKeyData, ReadyForQuery. */
        void login() throws IOException {
            send(msg('R', int32(0)),
                    msg('S', cstr("server_version"), cstr("15.0")),
                    msg('S', cstr("client_encoding"), cstr("UTF8")),
                    msg('S', cstr("DateStyle"), cstr("ISO, MDY")),
                    msg('K', int32(4242), int32(99)),
                    msg('Z', bytes("I")));
        }

        /** Answers every Query with {@code reply}, and Terminate by closing; returns at end of stream. */
        void answerQueries(byte[]... reply) throws IOException {
            int type;
            while ((type = readMessage()) != -1 && type != 'X') {
                if (type == 'Q') {
                    send(reply);
                }
            }
        }
    }

    private final ServerSocket listener;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "scripted-server");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Script> scripts;
    private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();

    ScriptedServer(Map<String, Script> scripts) throws IOException {
        this.scripts = scripts;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        threads.execute(this::acceptLoop);
    }

    int port() {
        return listener.getLocalPort();
    }

    /** How many connections asked for {@code database}. */
    int attempts(String database) {
        AtomicInteger n = attempts.get(database);
        return n == null ? 0 : n.get();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket s = listener.accept();
                threads.execute(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            Conn c = new Conn(s);
            while (true) {
                int len = c.in.readInt();
                int code = c.in.readInt();
                byte[] body = new byte[len - 8];
                c.in.readFully(body);
                if (code == 80877103) {
                    c.send(bytes("N"));
                    continue;
                }
                if (code == 80877102) {
                    return;
                }
                String[] kv = new String(body, StandardCharsets.UTF_8).split("\0");
                for (int i = 0; i + 1 < kv.length; i += 2) {
                    c.startup.put(kv[i], kv[i + 1]);
                }
                break;
            }
            String db = c.startup.getOrDefault("database", "");
            c.attempt = attempts.computeIfAbsent(db, k -> new AtomicInteger()).getAndIncrement();
            Script script = scripts.get(db);
            if (script != null) {
                script.run(c);
            }
        } catch (IOException e) {
            // The peer went away: the script is over.
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        threads.shutdownNow();
    }

    // ---- message building ----

    /** A backend message: type, length, then the parts as given. */
    static byte[] msg(char type, byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int len = 4;
        for (byte[] p : parts) {
            len += p.length;
        }
        b.write(type);
        b.writeBytes(int32(len));
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    /** A header alone, with whatever length field the test wants. */
    static byte[] header(char type, int length) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(type);
        b.writeBytes(int32(length));
        return b.toByteArray();
    }

    static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    static byte[] cstr(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] r = new byte[b.length + 1];
        System.arraycopy(b, 0, r, 0, b.length);
        return r;
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** An ErrorResponse or NoticeResponse body from "X=value" fields, ended by the NUL terminator. */
    static byte[] fields(String... fieldValues) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (String f : fieldValues) {
            b.write(f.charAt(0));
            b.writeBytes(cstr(f.substring(2)));
        }
        b.write(0);
        return b.toByteArray();
    }
}
