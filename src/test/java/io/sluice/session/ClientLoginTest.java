package io.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sluice.auth.AuthFile;
import io.sluice.auth.Md5Auth;
import io.sluice.auth.Secret;
import io.sluice.config.Config;
import io.sluice.metrics.Metrics;
import io.sluice.pool.PoolConfig;
import io.sluice.pool.PoolManager;
import io.sluice.pool.ServerConnection;
import io.sluice.pool.ServerConnector;
import io.sluice.protocol.PgWriter;
import io.sluice.protocol.StartupDecoder;
import io.sluice.testing.LeakCheck;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client front end in an EmbeddedChannel: start-up and md5 authentication fed whole and
 * split at every byte. The server side is a connector whose connects fail at once, so a
 * client that authenticates ends with Sluice's "could not connect" error.
 */
@ExtendWith(LeakCheck.class)
class ClientLoginTest {
    @TempDir
    Path dir;

    /** Backend messages as "type:text" for the assertions. */
    private static List<String> drain(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        for (Object o; (o = ch.readOutbound()) != null;) {
            ByteBuf b = (ByteBuf) o;
            all.writeBytes(b);
            b.release();
        }
        List<String> msgs = new ArrayList<>();
        while (all.readableBytes() >= 5) {
            char type = (char) all.readByte();
            int len = all.readInt();
            ByteBuf body = all.readSlice(len - 4);
            if (type == 'R') {
                int code = body.readInt();
                msgs.add("R:" + code + (code == 5 ? ":" + ByteBufUtil.hexDump(body) : ""));
            } else if (type == 'E') {
                String s = body.toString(StandardCharsets.UTF_8);
                int m = s.indexOf("\0M") + 2;
                int c = s.indexOf("\0C") + 2;
                msgs.add("E:" + s.substring(c, s.indexOf('\0', c)) + ":" + s.substring(m, s.indexOf('\0', m)));
            } else {
                msgs.add(String.valueOf(type));
            }
        }
        all.release();
        return msgs;
    }

    private EmbeddedChannel client() throws Exception {
        Files.writeString(dir.resolve("userlist.txt"), "\"alice\" \"secret\"\n");
        Files.writeString(dir.resolve("pgbouncer.ini"), String.join("\n",
                "[databases]", "* = host=127.0.0.1 port=1", "[pgbouncer]", "auth_type = md5",
                "auth_file = userlist.txt", "unix_socket_dir =", ""));
        Config config = Config.load(dir.resolve("pgbouncer.ini"));
        AuthFile authFile = AuthFile.load(dir.resolve("userlist.txt"));
        EmbeddedChannel ch = new EmbeddedChannel();
        ServerConnector refused = new ServerConnector() {
            @Override
            public ChannelFuture connect(EventLoop loop, PoolConfig pc, ServerConnection handler) {
                return new DefaultChannelPromise(new EmbeddedChannel(), loop)
                        .setFailure(new ConnectException("Connection refused"));
            }

            @Override
            public void cancel(ServerConnection server, java.util.function.Consumer<CancelOutcome> done) {
                done.accept(CancelOutcome.NOT_SENT);
            }
        };
        PoolManager pools = new PoolManager(config, authFile, List.of(ch.eventLoop()), refused, Metrics.NOOP);
        ch.pipeline().addLast(new StartupDecoder(), new ClientLogin(new SessionContext(config, authFile, pools)));
        return ch;
    }

    private static byte[] startup(String user) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", user);
        p.put("database", "app");
        ByteBuf b = Unpooled.buffer();
        PgWriter.startup(b, p);
        byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    private static byte[] password(String response) {
        ByteBuf b = Unpooled.buffer();
        PgWriter.password(b, response);
        byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    private static void feedSplit(EmbeddedChannel ch, byte[] data, int cut) {
        if (cut > 0) {
            ch.writeInbound(Unpooled.wrappedBuffer(data, 0, cut));
        }
        ch.writeInbound(Unpooled.wrappedBuffer(data, cut, data.length - cut));
    }

    /** Logs in as {@code user} with {@code pw}, start-up and password each split at {@code cut}. */
    private List<String> login(String user, String pw, int cut) throws Exception {
        EmbeddedChannel ch = client();
        byte[] s = startup(user);
        feedSplit(ch, s, Math.min(cut, s.length - 1));
        List<String> first = drain(ch);
        assertThat(first).hasSize(1);
        assertThat(first.get(0)).startsWith("R:5:");
        byte[] salt = ByteBufUtil.decodeHexDump(first.get(0).substring(4));
        byte[] p = password(Md5Auth.clientResponse(user, new Secret.Plain(pw), salt));
        feedSplit(ch, p, Math.min(cut, p.length - 1));
        List<String> rest = drain(ch);
        assertThat(ch.isOpen()).as("closed after FATAL").isFalse();
        ch.finishAndReleaseAll();
        return rest;
    }

    @Test
    void rightPasswordSplitAtEveryByteGetsPastAuthentication() throws Exception {
        for (int cut = 0; cut < 45; cut++) {
            assertThat(login("alice", "secret", cut))
                    .containsExactly("E:08P01:connect failed");
        }
    }

    @Test
    void wrongPasswordAndUnknownUserFailAlike() throws Exception {
        for (int cut = 0; cut < 45; cut += 7) {
            assertThat(login("alice", "wrong", cut))
                    .containsExactly("E:28P01:password authentication failed");
            assertThat(login("mallory", "secret", cut))
                    .containsExactly("E:28P01:password authentication failed");
        }
    }

    @Test
    void messageOtherThanPasswordDuringAuthIsAProtocolViolation() throws Exception {
        EmbeddedChannel ch = client();
        ch.writeInbound(Unpooled.wrappedBuffer(startup("alice")));
        drain(ch);
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'Q', 0, 0, 0, 5, 0}));
        assertThat(drain(ch)).containsExactly("E:08P01:expected password response, got message type Q");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    @Test
    void passwordWithoutItsTerminatingNulIsRefusedAndLeaksNothing() throws Exception {
        for (int cut = 0; cut < 8; cut++) {
            EmbeddedChannel ch = client();
            ch.writeInbound(Unpooled.wrappedBuffer(startup("alice")));
            drain(ch);
            feedSplit(ch, new byte[] {'p', 0, 0, 0, 7, 'a', 'b', 'c'}, cut);
            List<String> got = drain(ch);
            assertThat(got).hasSize(1);
            assertThat(got.get(0)).startsWith("E:08P01:");
            assertThat(ch.isOpen()).isFalse();
            ch.checkException();
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void unsupportedStartupParameterIsFatal() throws Exception {
        EmbeddedChannel ch = client();
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", "alice");
        p.put("search_path", "x");
        ByteBuf b = Unpooled.buffer();
        PgWriter.startup(b, p);
        ch.writeInbound(b);
        assertThat(drain(ch)).containsExactly("E:08P01:unsupported startup parameter: search_path");
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }

    /** Fails every allocation, as a JVM out of direct memory does. */
    private static final class NoMemory extends io.netty.buffer.AbstractByteBufAllocator {
        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            throw new OutOfMemoryError("Cannot reserve 8192 bytes of direct buffer memory");
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return newHeapBuffer(initialCapacity, maxCapacity);
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    }

    @Test
    void anAllocationThatFailsEndsThatClientOnlyWithNothingEscaping() throws Exception {
        // A start-up that needs memory to answer, and one refused with a FATAL that needs memory too.
        ByteBuf v2 = Unpooled.buffer().writeInt(8).writeInt(0x00020000);
        for (ByteBuf input : List.of(Unpooled.wrappedBuffer(startup("alice")), v2)) {
            EmbeddedChannel ch = client();
            ch.config().setAllocator(new NoMemory());
            ch.writeInbound(input);
            assertThat(ch.isOpen()).isFalse();
            // EmbeddedChannel rethrows here whatever a handler let escape.
            ch.checkException();
            assertThat(drain(ch)).isEmpty();
            ch.finishAndReleaseAll();
        }
    }
}
