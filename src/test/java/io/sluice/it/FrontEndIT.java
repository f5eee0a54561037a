package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.testing.LeakCheck;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a client sees of Sluice's front end at the wire: SSL negotiation, protocol version
 * negotiation, frame limits, max_client_conn, and start-up failures on a bad config.
 */
@ExtendWith(LeakCheck.class)
class FrontEndIT {
    private static SluiceHarness sluice;

    @BeforeAll
    static void start() {
        sluice = SluiceHarness.start("* = host=127.0.0.1 port=${PG_PORT}", String.join("\n",
                "auth_type = trust",
                "max_client_conn = 3",
                "max_packet_size = 100000",
                "ignore_startup_parameters = extra_float_digits"), SluiceHarness.USERLIST);
    }

    @AfterAll
    static void stop() {
        sluice.close();
    }

    @Test
    void sslRequestIsAnsweredNoAndLoginGoesOn() throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.out.writeInt(8);
            w.out.writeInt(80877103);
            w.out.flush();
            assertThat(w.in.readByte()).isEqualTo((byte) 'N');
            w.startup(196608, "user\0postgres\0database\0postgres\0");
            List<PgWire.Msg> msgs = w.untilReadyOrError();
            assertThat(msgs.get(0).type()).isEqualTo('R');
            assertThat(msgs.get(0).code()).isZero();
            assertThat(msgs).extracting(PgWire.Msg::type).contains('S', 'K').last().isEqualTo('Z');
        }
    }

    @Test
    void gssEncRequestIsAnsweredNo() throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.out.writeInt(8);
            w.out.writeInt(80877104);
            w.out.flush();
            assertThat(w.in.readByte()).isEqualTo((byte) 'N');
            w.startup(196608, "user\0postgres\0");
            assertThat(w.untilReadyOrError()).last().extracting(PgWire.Msg::type).isEqualTo('Z');
        }
    }

    /** BackendKeyData is Sluice's own random key, not the server's: cancels must go through Sluice. */
    @Test
    void backendKeyDataIsSluicesOwn() throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608, "user\0postgres\0database\0postgres\0");
            PgWire.Msg key = w.untilReadyOrError().stream().filter(m -> m.type() == 'K').findFirst().orElseThrow();
            int pid = ByteBuffer.wrap(key.body()).getInt();
            byte[] q = "SELECT pg_backend_pid()\0".getBytes(StandardCharsets.UTF_8);
            w.out.writeByte('Q');
            w.out.writeInt(4 + q.length);
            w.out.write(q);
            w.out.flush();
            List<PgWire.Msg> msgs = w.untilReadyOrError();
            PgWire.Msg row = msgs.get(1);
            assertThat(row.type()).isEqualTo('D');
            int realPid = Integer.parseInt(new String(row.body(), 6, row.body().length - 6, StandardCharsets.UTF_8));
            assertThat(pid).isNotEqualTo(realPid);
        }
    }

    @Test
    void newerMinorVersionAndProtocolOptionsGetNegotiateProtocolVersion() throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608 + 2, "user\0postgres\0_pq_.future_option\0on\0");
            List<PgWire.Msg> msgs = w.untilReadyOrError();
            PgWire.Msg v = msgs.get(0);
            assertThat(v.type()).isEqualTo('v');
            ByteBuffer b = ByteBuffer.wrap(v.body());
            assertThat(b.getInt()).as("newest minor version").isZero();
            assertThat(b.getInt()).as("options not recognised").isEqualTo(1);
            assertThat(new String(v.body(), 8, v.body().length - 9, StandardCharsets.UTF_8))
                    .isEqualTo("_pq_.future_option");
            assertThat(msgs).last().extracting(PgWire.Msg::type).isEqualTo('Z');
        }
    }

    @Test
    void oversizedStartupPacketGetsFatalWithoutWaitingForTheBytes() throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.out.writeInt(10_001);
            w.out.writeInt(196608);
            w.out.flush();
            PgWire.Msg m = w.read();
            assertThat(m.type()).isEqualTo('E');
            assertThat(PgWire.field(m, 'V')).isEqualTo("FATAL");
            assertThat(PgWire.field(m, 'C')).isEqualTo("08P01");
            assertThat(PgWire.field(m, 'M')).contains("invalid startup packet length");
            assertThat(w.closedByPeer()).isTrue();
        }
    }

    @Test
    void lengthBelowFourGetsFatal() throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608, "user\0postgres\0");
            w.untilReadyOrError();
            w.out.writeByte('Q');
            w.out.writeInt(3);
            w.out.flush();
            PgWire.Msg m = w.read();
            assertThat(m.type()).isEqualTo('E');
            assertThat(PgWire.field(m, 'C')).isEqualTo("08P01");
            assertThat(PgWire.field(m, 'M')).contains("invalid message length 3");
            assertThat(w.closedByPeer()).isTrue();
        }
    }

    @Test
    void messageOverMaxPacketSizeGetsFatalBeforeItIsBuffered() throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608, "user\0postgres\0");
            w.untilReadyOrError();
            w.out.writeByte('Q');
            w.out.writeInt(1_000_000_000);
            w.out.flush();
            PgWire.Msg m = w.read();
            assertThat(m.type()).isEqualTo('E');
            assertThat(PgWire.field(m, 'V')).isEqualTo("FATAL");
            assertThat(PgWire.field(m, 'C')).isEqualTo("08P01");
            assertThat(PgWire.field(m, 'M')).contains("exceeds max_packet_size");
            assertThat(w.closedByPeer()).isTrue();
        }
    }

    @Test
    void simpleQueryOverTheWire() throws Exception {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.startup(196608, "user\0postgres\0database\0postgres\0");
            w.untilReadyOrError();
            byte[] q = "SELECT 'hello'\0".getBytes(StandardCharsets.UTF_8);
            // Sent one byte at a time: Sluice must reassemble nothing and pass it all on.
            byte[] frame = ByteBuffer.allocate(5 + q.length).put((byte) 'Q').putInt(4 + q.length).put(q).array();
            for (byte b : frame) {
                w.out.write(b);
                w.out.flush();
            }
            List<PgWire.Msg> msgs = w.untilReadyOrError();
            assertThat(msgs).extracting(PgWire.Msg::type).containsExactly('T', 'D', 'C', 'Z');
            assertThat(new String(msgs.get(1).body(), 6, 5, StandardCharsets.UTF_8)).isEqualTo("hello");
        }
    }

    @Test
    void maxClientConnIsEnforced() throws Exception {
        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                held.add(sluice.connect("postgres", "postgres", ""));
            }
            assertThatThrownBy(() -> sluice.connect("postgres", "postgres", "").close())
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("no more connections allowed (max_client_conn)");
            held.remove(0).close();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (true) {
                try (Connection c = sluice.connect("postgres", "postgres", "")) {
                    assertThat(c.isValid(5)).isTrue();
                    break;
                } catch (SQLException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(50);
                }
            }
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
    }

    @Test
    void badConfigFailsStartWithFileLineAndKey() throws Exception {
        Path dir = Files.createTempDirectory("sluice-badconf");
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, "[databases]\n* = host=127.0.0.1\n\n[pgbouncer]\nauth_type = trust\nlisten_port = abc\n");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String root = "root".equals(System.getProperty("user.name")) ? "--allow-root" : "-q";
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "io.sluice.server.Main", root, ini.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(output).contains(ini + ":6: listen_port:");

        Files.writeString(ini, "[databases]\n* = host=127.0.0.1 colour=blue\n\n[pgbouncer]\nauth_type = trust\n");
        p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "io.sluice.server.Main", root, ini.toString()).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(output).contains(ini + ":2:").contains("unrecognized connection parameter: colour");
    }

    private static String[] run(String... args) throws Exception {
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(javaBin, "-cp",
                System.getProperty("java.class.path"), "io.sluice.server.Main"));
        cmd.addAll(java.util.List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new String[] {Integer.toString(p.exitValue()),
            new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)};
    }

    @Test
    void theCommandLineServiceFilesUse() throws Exception {
        String[] v = run("-V");
        assertThat(v[0]).isEqualTo("0");
        assertThat(v[1]).containsPattern("Sluice \\d+\\.\\d+").doesNotContain("dev").contains("PgBouncer-compatible: 1.25.2");
        String[] r = run("-R", "any.ini");
        assertThat(r[0]).isEqualTo("1");
        assertThat(r[1]).contains("online restart (-R) is not supported");
        Path dir = Files.createTempDirectory("sluice-cli");
        Path log = dir.resolve("sluice.log");
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, "[databases]\n* = host=127.0.0.1\n\n[pgbouncer]\nlogfile = " + log
                + "\nauth_type = trust\nlisten_port = abc\n");
        String root = "root".equals(System.getProperty("user.name")) ? "--allow-root" : "-q";
        String[] bad = run(root, ini.toString());
        assertThat(bad[0]).isEqualTo("2");
        assertThat(bad[1]).contains(ini + ":7: listen_port:");
        assertThat(Files.readString(log)).as("a fatal configuration error reaches the logfile too")
                .contains("ERROR configuration error: " + ini + ":7: listen_port:");
        if ("root".equals(System.getProperty("user.name"))) {
            String[] refused = run(ini.toString());
            assertThat(refused[0]).isEqualTo("1");
            assertThat(refused[1]).contains("should not run as root").contains("--allow-root");
        }
    }

    @Test
    void daemonReturnsOnceTheBackgroundProcessHasWrittenThePidfile() throws Exception {
        Path dir = Files.createTempDirectory("sluice-daemon");
        Path pidfile = dir.resolve("sluice.pid");
        Path ini = dir.resolve("pgbouncer.ini");
        int port = SluiceHarness.freePort();
        Files.writeString(ini, "[databases]\n* = host=127.0.0.1 port=" + TestPostgres.port() + "\n\n[pgbouncer]\n"
                + "listen_addr = 127.0.0.1\nlisten_port = " + port + "\nunix_socket_dir =\n"
                + "auth_type = trust\npidfile = " + pidfile + "\nlogfile = " + dir.resolve("sluice.log") + "\n");
        String root = "root".equals(System.getProperty("user.name")) ? "--allow-root" : "-q";
        String[] noPidfile = run(root, "-d", dir.resolve("missing.ini").toString());
        assertThat(noPidfile[0]).isNotEqualTo("0");
        String[] started = run(root, "-d", ini.toString());
        assertThat(started[0]).as(started[1]).isEqualTo("0");
        long pid = Long.parseLong(Files.readString(pidfile).strip());
        ProcessHandle daemon = ProcessHandle.of(pid).orElseThrow();
        try {
            assertThat(daemon.isAlive()).isTrue();
            // Listening once -d has returned; the start-up line follows the bind by a moment.
            try (java.net.Socket probe = new java.net.Socket("127.0.0.1", port)) {
                assertThat(probe.isConnected()).isTrue();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (!Files.readString(dir.resolve("sluice.log")).contains("process up: Sluice")
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(Files.readString(dir.resolve("sluice.log"))).contains("process up: Sluice");
        } finally {
            daemon.destroy();
            daemon.onExit().get(20, TimeUnit.SECONDS);
        }
        assertThat(pidfile).as("removed on SIGTERM").doesNotExist();
    }
}
