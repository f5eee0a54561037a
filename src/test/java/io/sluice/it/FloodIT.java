package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.sluice.protocol.PgWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Connection floods against a Sluice process: 10,000 clients at once (max_client_conn answers
 * each cleanly, nobody hangs, the console and a logged-in client still work), and thousands of
 * sockets (5,000) that dribble a start-up packet a byte at a time (max_unauthenticated_clients keeps
 * them from taking the client slots that real clients log in with).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class FloodIT {
    private static final String DB = "postgres = host=127.0.0.1 port=${PG_PORT} dbname=postgres";

    /** How a flood socket ended up. */
    enum Outcome { LOGGED_IN, REFUSED, OTHER_ERROR, CLOSED_SILENTLY }

    /** Reads a flood socket's answer to its StartupMessage until it is decided. */
    private static final class Answer extends ChannelInboundHandlerAdapter {
        private final Map<Outcome, AtomicInteger> tally;
        private final CountDownLatch done;
        private final StringBuilder seen = new StringBuilder();
        private boolean decided;

        Answer(Map<Outcome, AtomicInteger> tally, CountDownLatch done) {
            this.tally = tally;
            this.done = done;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ByteBuf out = ctx.alloc().buffer();
            PgWriter.startup(out, Map.of("user", "postgres", "database", "postgres"));
            ctx.writeAndFlush(out);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf b = (ByteBuf) msg;
            seen.append(b.toString(StandardCharsets.ISO_8859_1));
            ReferenceCountUtil.release(msg);
            if (decided) {
                return;
            }
            if (seen.indexOf("no more connections allowed (max_client_conn)") >= 0) {
                decide(Outcome.REFUSED);
            } else if (seen.length() > 0 && seen.charAt(0) == 'E' && seen.indexOf("\0\0") > 0) {
                decide(Outcome.OTHER_ERROR);
            } else if (seen.indexOf("Z\0\0\0\5I") >= 0) {
                decide(Outcome.LOGGED_IN);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!decided) {
                decide(seen.length() == 0 ? Outcome.CLOSED_SILENTLY : Outcome.OTHER_ERROR);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        private void decide(Outcome o) {
            decided = true;
            tally.get(o).incrementAndGet();
            done.countDown();
        }
    }

    private static int hardFileLimit() throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "ulimit -Hn").start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        p.waitFor();
        return out.equals("unlimited") ? Integer.MAX_VALUE : Integer.parseInt(out);
    }

    @Test
    void tenThousandClientsAtOnceAreEachAnsweredAndTheConsoleStillWorks() throws Exception {
        // Each side holds one descriptor per socket: the test and Sluice run in two processes.
        int n = (int) Math.min(10_000L, hardFileLimit() - 2_000L);
        System.out.println("FloodIT: " + n + " connections at once");
        int max = 2_000;
        try (SluiceProcess s = SluiceProcess.start(DB, "auth_type = trust\nadmin_users = postgres\n"
                + "pool_mode = transaction\ndefault_pool_size = 4\nmax_client_conn = " + max
                + "\nmax_unauthenticated_clients = 20000\nclient_login_timeout = 30", 0);
                Connection before = connect(s.port(), "postgres")) {
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
            Map<Outcome, AtomicInteger> tally = new ConcurrentHashMap<>();
            for (Outcome o : Outcome.values()) {
                tally.put(o, new AtomicInteger());
            }
            CountDownLatch done = new CountDownLatch(n);
            List<Channel> channels = new ArrayList<>();
            try {
                Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 60_000);
                for (int i = 0; i < n; i++) {
                    channels.add(b.handler(new Answer(tally, done)).connect("127.0.0.1", s.port()).channel());
                }
                assertThat(done.await(120, TimeUnit.SECONDS)).as("every client answered: " + tally).isTrue();
                System.out.println("FloodIT: " + tally);
                int in = tally.get(Outcome.LOGGED_IN).get();
                assertThat(in).as("logged in, up to max_client_conn with the one before").isBetween(max - 200, max - 1);
                assertThat(tally.get(Outcome.OTHER_ERROR).get()).as("no other error").isZero();
                assertThat(in + tally.get(Outcome.REFUSED).get() + tally.get(Outcome.CLOSED_SILENTLY).get())
                        .isEqualTo(n);
                assertThat(tally.get(Outcome.REFUSED).get()).as("refused with PgBouncer's message").isPositive();
                // While the logged-in thousands stay, the console and the client from before work.
                Properties p = new Properties();
                p.setProperty("preferQueryMode", "simple");
                try (Connection console = connect(s.port(), "pgbouncer", p)) {
                    assertThat(scalar(console, "SHOW VERSION")).contains("Sluice");
                }
                assertThat(scalar(before, "select 'still served'")).isEqualTo("still served");
            } finally {
                for (Channel c : channels) {
                    if (c.isRegistered()) {
                        c.close();
                    }
                }
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        }
    }

    @Test
    void socketsDribblingAStartupPacketDoNotKeepRealClientsOut() throws Exception {
        int attackers = 5_000;
        try (SluiceProcess s = SluiceProcess.start(DB, "auth_type = md5\nmax_client_conn = 1000\n"
                + "max_unauthenticated_clients = 300\nclient_login_timeout = 60\npool_mode = transaction", 0);
                Connection before = connect(s.port(), "md5user")) {
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            AtomicInteger toldTooMany = new AtomicInteger();
            List<Channel> channels = new ArrayList<>();
            try {
                Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class);
                List<io.netty.channel.ChannelFuture> connects = new ArrayList<>();
                for (int i = 0; i < attackers; i++) {
                    io.netty.channel.ChannelFuture f = b.handler(new Dribbler(toldTooMany)).connect("127.0.0.1", s.port());
                    connects.add(f);
                    channels.add(f.channel());
                }
                for (io.netty.channel.ChannelFuture f : connects) {
                    f.await(30, TimeUnit.SECONDS);
                }
                // Until Sluice has taken them all in (its log quiet for 2.5 s: it logs the ones it
                // turns away or evicts): those holding a place among the logins are then older
                // than the 2 s after which a new connection may take their place.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                long size;
                do {
                    size = s.logBytes();
                    Thread.sleep(2_500);
                } while (s.logBytes() != size && System.nanoTime() < deadline);
                // Real clients keep logging in and working while the dribblers hold on.
                for (int i = 0; i < 20; i++) {
                    long t0 = System.nanoTime();
                    try (Connection c = connect(s.port(), "md5user")) {
                        assertThat(scalar(c, "select " + i)).isEqualTo(String.valueOf(i));
                    } catch (SQLException e) {
                        throw new AssertionError("login " + i + " refused; Sluice's log:\n" + s.log(), e);
                    }
                    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000L);
                    assertThat(scalar(before, "select 'served'")).isEqualTo("served");
                }
                assertThat(toldTooMany.get()).as("dribblers past the cap were told why").isPositive();
            } finally {
                for (Channel c : channels) {
                    if (c.isRegistered()) {
                        c.close();
                    }
                }
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
        }
    }

    /** A socket that sends a byte of a start-up packet every 2 seconds, and notes being told there are too many. */
    private static final class Dribbler extends ChannelInboundHandlerAdapter {
        private final AtomicInteger toldTooMany;

        Dribbler(AtomicInteger toldTooMany) {
            this.toldTooMany = toldTooMany;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            dribble(ctx.channel());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (((ByteBuf) msg).toString(StandardCharsets.ISO_8859_1).contains("max_unauthenticated_clients")) {
                toldTooMany.incrementAndGet();
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();  // reset by Sluice after its FATAL: expected
        }
    }

    /** One byte of a start-up packet's length now, and another every 2 seconds: never a whole packet. */
    private static void dribble(Channel ch) {
        if (!ch.isActive()) {
            return;
        }
        ch.writeAndFlush(ch.alloc().buffer(1).writeByte(0));
        ch.eventLoop().schedule(() -> dribble(ch), 2, TimeUnit.SECONDS);
    }

    private static Connection connect(int port, String user) throws SQLException {
        return connect(port, "postgres", user, new Properties());
    }

    private static Connection connect(int port, String db, Properties p) throws SQLException {
        return connect(port, db, "postgres", p);
    }

    private static Connection connect(int port, String db, String user, Properties extra) throws SQLException {
        Properties p = new Properties();
        p.putAll(extra);
        p.setProperty("user", user);
        p.setProperty("password", user.equals("md5user") ? "md5pass" : "");
        p.setProperty("connectTimeout", "20");
        p.setProperty("socketTimeout", "60");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + db, p);
    }
}
