package io.sluice.it;

import static io.sluice.it.SluiceHarness.scalar;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.testing.LeakCheck;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Sluice run as a service runs it (bin/sluice in a process of its own), driven by signals as
 * PgBouncer documents them: SIGHUP reloads, SIGUSR1 pauses, SIGUSR2 resumes (and does not crash
 * the JVM, which uses SIGUSR2 itself unless told otherwise), SIGTERM waits for clients, SIGINT
 * for servers even when the launcher started Sluice with SIGINT ignored; a second instance is
 * refused while the first holds the pidfile and the Unix socket.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SignalsIT {
    private static final String DBS = "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=2"
            + " pool_mode=transaction";
    private static final String SETTINGS = "auth_type = md5\nadmin_users = md5user\npidfile = ${DIR}/sluice.pid\n"
            + "unix_socket_dir = ${DIR}";

    private static Connection connect(SluiceProcess p, String db) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "md5user");
        props.setProperty("password", "md5pass");
        props.setProperty("preferQueryMode", "simple");
        props.setProperty("connectTimeout", "10");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + p.port() + "/" + db, props);
    }

    private static void signal(SluiceProcess p, String name) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).start();
        assertThat(kill.waitFor()).isZero();
    }

    private static String state(SluiceProcess p, String key) throws Exception {
        try (Connection admin = connect(p, "pgbouncer")) {
            try (var rs = admin.createStatement().executeQuery("SHOW STATE")) {
                while (rs.next()) {
                    if (rs.getString(1).equals(key)) {
                        return rs.getString(2);
                    }
                }
            }
        }
        throw new AssertionError("no " + key);
    }

    private static void awaitLog(SluiceProcess p, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!p.log().contains(text) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(p.log()).contains(text);
    }

    @Test
    void hupReloadsUsr1PausesUsr2ResumesAndTermWaitsForClients() throws Exception {
        try (SluiceProcess p = SluiceProcess.start(DBS, SETTINGS, 0, null)) {
            Path ini = p.dir().resolve("pgbouncer.ini");
            Files.writeString(ini, Files.readString(ini).replace("pool_size=2", "pool_size=4"));
            signal(p, "HUP");
            awaitLog(p, "RELOAD: DatabaseChange[tx: pool_size]");
            try (Connection admin = connect(p, "pgbouncer");
                    var rs = admin.createStatement().executeQuery("SHOW DATABASES")) {
                boolean seen = false;
                while (rs.next()) {
                    if (rs.getString("name").equals("tx")) {
                        assertThat(rs.getInt("pool_size")).isEqualTo(4);
                        seen = true;
                    }
                }
                assertThat(seen).isTrue();
            }
            signal(p, "USR1");
            awaitLog(p, "got SIGUSR1, pausing all activity");
            assertThat(state(p, "paused")).isEqualTo("yes");
            signal(p, "USR2");
            awaitLog(p, "got SIGUSR2, continuing");
            assertThat(state(p, "paused")).isEqualTo("no");
            assertThat(p.process().isAlive()).as("SIGUSR2 is PgBouncer's RESUME, not the JVM's").isTrue();

            Connection inTx = connect(p, "tx");
            inTx.setAutoCommit(false);
            assertThat(scalar(inTx, "select 1")).isEqualTo("1");
            signal(p, "TERM");
            awaitLog(p, "got SIGTERM, shutting down");
            assertThat(scalar(inTx, "select 2")).as("the open transaction goes on").isEqualTo("2");
            inTx.commit();
            Thread.sleep(700);
            assertThat(p.process().isAlive()).as("a client is still connected").isTrue();
            inTx.close();
            assertThat(p.process().waitFor(15, TimeUnit.SECONDS)).as("exits once the last client is gone").isTrue();
            assertThat(p.process().exitValue()).isZero();
            assertThat(p.log()).contains("client connections dropped, exiting");
            assertThat(p.dir().resolve("sluice.pid")).doesNotExist();
            assertThat(p.dir().resolve(".s.PGSQL." + p.port())).doesNotExist();
        }
    }

    @Test
    void hupChangesPoolSizeAndModeUnderPgbenchLoadWithNoFailedTransaction() throws Exception {
        TestPostgres.loadPgbench();
        try (SluiceProcess p = SluiceProcess.start(DBS, SETTINGS, 0, null)) {
            java.util.concurrent.CompletableFuture<SluiceHarness.PsqlResult> bench =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                        try {
                            return SluiceHarness.run("pgbench", "-n", "-S", "-c", "10", "-j", "2", "-T", "5",
                                    "postgresql://md5user:md5pass@127.0.0.1:" + p.port() + "/tx");
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
            Thread.sleep(1500);
            Path ini = p.dir().resolve("pgbouncer.ini");
            Files.writeString(ini, Files.readString(ini).replace("pool_size=2 pool_mode=transaction",
                    "pool_size=5 pool_mode=session"));
            signal(p, "HUP");
            awaitLog(p, "RELOAD: DatabaseChange[tx:");
            Thread.sleep(1000);
            Files.writeString(ini, Files.readString(ini).replace("pool_size=5 pool_mode=session",
                    "pool_size=1 pool_mode=transaction"));
            signal(p, "HUP");
            SluiceHarness.PsqlResult run = bench.get(60, TimeUnit.SECONDS);
            assertThat(run.exitCode()).as(run.output()).isZero();
            assertThat(run.output()).contains("number of failed transactions: 0 (0.000%)");
            try (Connection admin = connect(p, "pgbouncer");
                    var rs = admin.createStatement().executeQuery("SHOW POOLS")) {
                while (rs.next()) {
                    if (rs.getString("database").equals("tx")) {
                        assertThat(rs.getString("pool_mode")).isEqualTo("transaction");
                        assertThat(rs.getInt("sv_active") + rs.getInt("sv_idle")).as("servers at pool_size 1")
                                .isLessThanOrEqualTo(1);
                    }
                }
            }
        }
    }

    @Test
    void logsAreInPgBouncersFormatWithStatsAndTheLogfileIsReopenedOnHup() throws Exception {
        String settings = SETTINGS + "\nlogfile = ${DIR}/sluice-file.log\nstats_period = 1";
        try (SluiceProcess p = SluiceProcess.start(DBS, settings, 0, null)) {
            try (Connection c = connect(p, "tx")) {
                assertThat(scalar(c, "select 1")).isEqualTo("1");
            }
            awaitLog(p, "closing because: client close request");
            awaitLog(p, "LOG stats: ");
            String line = "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} \\S+ \\[" + p.pid() + "\\] ";
            assertThat(p.log()).containsPattern(line + "LOG C-\\d+: tx/md5user@127\\.0\\.0\\.1:\\d+ login attempt:"
                    + " db=tx user=md5user tls=no replication=no")
                    .containsPattern(line + "LOG C-\\d+: tx/md5user@127\\.0\\.0\\.1:\\d+ closing because:"
                            + " client close request \\(age=\\d+s\\)")
                    .containsPattern(line + "LOG stats: \\d+ xacts/s, \\d+ queries/s, \\d+ client parses/s, \\d+ server"
                            + " parses/s, \\d+ binds/s, \\d+ client logins/s, in \\d+ B/s, out \\d+ B/s, xact \\d+ us,"
                            + " query \\d+ us, wait \\d+ us")
                    .doesNotContain("md5pass");
            // logrotate: the file is moved away, SIGHUP, and Sluice writes a new one.
            Path file = p.dir().resolve("sluice-file.log");
            assertThat(Files.readString(file)).contains("login attempt: db=tx");
            Files.move(file, p.dir().resolve("sluice-file.log.1"));
            signal(p, "HUP");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while ((!Files.exists(file) || !Files.readString(file).contains("LOG stats: "))
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(file).exists();
            assertThat(Files.readString(file)).contains("LOG stats: ");
        }
    }

    @Test
    void aPortInUseIsOneClearLine() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getByName("127.0.0.1"))) {
            String settings = SETTINGS.replace("pidfile = ${DIR}/sluice.pid\n", "") + "\nlisten_port = "
                    + taken.getLocalPort();
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    () -> SluiceProcess.start(DBS, settings, 0, null).close());
            assertThat(e.getMessage()).contains("could not listen on 127.0.0.1:" + taken.getLocalPort()
                    + ": address already in use").doesNotContain("Exception").doesNotContain("\tat ");
        }
    }

    @Test
    void systemdIsToldWhenSluiceIsReady() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(io.netty.channel.epoll.Epoll.isAvailable(), "needs epoll");
        Path socket = Files.createTempDirectory("sluice-notify").resolve("notify");
        java.util.concurrent.BlockingQueue<String> got = new java.util.concurrent.LinkedBlockingQueue<>();
        io.netty.channel.MultiThreadIoEventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(1,
                io.netty.channel.epoll.EpollIoHandler.newFactory());
        try {
            io.netty.channel.Channel ch = new io.netty.bootstrap.Bootstrap().group(group)
                    .channel(io.netty.channel.epoll.EpollDomainDatagramChannel.class)
                    .handler(new io.netty.channel.SimpleChannelInboundHandler<io.netty.channel.unix.DomainDatagramPacket>() {
                        @Override
                        protected void channelRead0(io.netty.channel.ChannelHandlerContext ctx,
                                io.netty.channel.unix.DomainDatagramPacket msg) {
                            got.add(msg.content().toString(java.nio.charset.StandardCharsets.UTF_8));
                        }
                    }).bind(new io.netty.channel.unix.DomainSocketAddress(socket.toString())).sync().channel();
            try (SluiceProcess p = SluiceProcess.start(DBS, SETTINGS, 0, null,
                    "export NOTIFY_SOCKET=" + socket + "; ")) {
                String message = got.poll(30, TimeUnit.SECONDS);
                assertThat(message).contains("READY=1").contains("MAINPID=" + p.pid());
            } finally {
                ch.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    @Test
    void sigintShutsDownEvenWhenStartedWithSigintIgnored() throws Exception {
        try (SluiceProcess p = SluiceProcess.start(DBS, SETTINGS, 0, null, "trap '' INT; ")) {
            try (Connection c = connect(p, "tx")) {
                assertThat(scalar(c, "select 1")).isEqualTo("1");
            }
            signal(p, "INT");
            assertThat(p.process().waitFor(15, TimeUnit.SECONDS)).as("SIGINT honoured").isTrue();
            assertThat(p.log()).contains("got SIGINT, shutting down").contains("server connections dropped, exiting");
        }
    }

    @Test
    void aSecondInstanceIsRefusedAndTheFirstKeepsItsSocketAndPidfile() throws Exception {
        try (SluiceProcess p = SluiceProcess.start(DBS, SETTINGS, 0, null)) {
            Path ini = p.dir().resolve("pgbouncer.ini");
            Process second = new ProcessBuilder("bin/sluice", "--allow-root", ini.toString()).redirectErrorStream(true)
                    .start();
            assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();
            String out = new String(second.getInputStream().readAllBytes());
            assertThat(second.exitValue()).as(out).isNotZero();
            assertThat(out).contains("pidfile").contains("another instance is running");
            assertThat(out).doesNotContain("Exception");
            assertThat(Files.readString(p.dir().resolve("sluice.pid")).strip()).isEqualTo(Long.toString(p.pid()));
            assertThat(p.dir().resolve(".s.PGSQL." + p.port())).exists();
            try (Connection c = connect(p, "tx")) {
                assertThat(scalar(c, "select 'first still serves'")).isEqualTo("first still serves");
            }
            // A second TERM during the shutdown ends it at once, with a client still there.
            Connection stays = connect(p, "tx");
            signal(p, "TERM");
            awaitLog(p, "got SIGTERM, shutting down");
            signal(p, "TERM");
            assertThat(p.process().waitFor(15, TimeUnit.SECONDS)).isTrue();
            assertThat(p.log()).contains("got SIGTERM while shutting down, fast exit");
            stays.close();
        }
    }
}
