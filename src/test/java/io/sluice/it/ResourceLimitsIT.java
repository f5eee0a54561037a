package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.protocol.PgWriter;
import io.sluice.testing.LeakCheck;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a client can make Sluice hold is bounded, and the other clients go on being served:
 * clients that stop reading large results, a client that pipelines queries and never reads,
 * clients that send 100 MB Parse messages, thousands of connections that never log in, more
 * sockets than Sluice has file descriptors. Sluice runs as users run it ({@code bin/sluice}, in a
 * process of its own), so that its resident memory, heap and log are its own.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ResourceLimitsIT {
    private static final String DATABASES = "postgres = host=127.0.0.1 port=${PG_PORT} dbname=postgres";
    private static final String SETTINGS = "auth_type = md5\npool_mode = transaction\ndefault_pool_size = 20";
    /** What PostgreSQL sends for it is about 1 GB: no buffer anywhere holds it. */
    private static final String HUGE_RESULT = "select g, repeat('x', 1000) from generate_series(1, 1000000) g";

    private static PgWire login(SluiceProcess s) throws IOException {
        return new PgWire(s.port(), "md5user", "md5pass", "postgres");
    }

    /** A client as an application is one: pgjdbc, a login and a query, both within 5 s. */
    private static String served(SluiceProcess s) throws Exception {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", "md5user");
        p.setProperty("password", "md5pass");
        p.setProperty("connectTimeout", "5");
        p.setProperty("socketTimeout", "5");
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + s.port() + "/postgres", p)) {
            return SluiceHarness.scalar(c, "select 'served'");
        }
    }

    /** While {@code load} runs, samples Sluice's RSS and serves another client every half second. */
    private static long peakRssWhile(SluiceProcess s, long millis) throws Exception {
        long peak = 0;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < end) {
            peak = Math.max(peak, s.rssMb());
            assertThat(served(s)).isEqualTo("served");
            Thread.sleep(500);
        }
        return Math.max(peak, s.rssMb());
    }

    private static long clientWriteBackends() throws Exception {
        try (Connection c = TestPostgres.direct()) {
            return Long.parseLong(SluiceHarness.scalar(c,
                    "select count(*) from pg_stat_activity where usename = 'md5user' and wait_event = 'ClientWrite'"));
        }
    }

    private static void awaitNoClientWrite() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (clientWriteBackends() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertThat(clientWriteBackends()).as("backends left writing to Sluice").isZero();
    }

    @Test
    void clientsThatStopReadingLargeResultsCostSluiceLittleAndOthersAreServed() throws Exception {
        try (SluiceProcess s = SluiceProcess.start(DATABASES, SETTINGS, 0)) {
            assertThat(served(s)).isEqualTo("served");
            long before = s.rssMb();
            List<PgWire> readers = new ArrayList<>();
            try {
                for (int i = 0; i < 6; i++) {
                    PgWire w = login(s);
                    readers.add(w);
                    w.send(b -> PgWriter.query(b, HUGE_RESULT));
                }
                long peak = peakRssWhile(s, 8_000);
                System.out.printf("six slow readers: RSS %d MB before, %d MB at most%n", before, peak);
                // Unbounded, this was 250 MB more within seconds, and 3.5 GB in 25 s on io_uring.
                assertThat(peak - before).as("RSS growth, MB").isLessThan(64);
            } finally {
                for (PgWire w : readers) {
                    w.close();
                }
            }
            awaitNoClientWrite();
            assertThat(served(s)).isEqualTo("served");
        }
    }

    @Test
    void clientsThatPipelineQueriesAndNeverReadAreHeldBack() throws Exception {
        try (SluiceProcess s = SluiceProcess.start(DATABASES, SETTINGS, 0)) {
            assertThat(served(s)).isEqualTo("served");
            long before = s.rssMb();
            AtomicLong sent = new AtomicLong();
            List<PgWire> clients = new ArrayList<>();
            List<Thread> writers = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                PgWire w = login(s);
                clients.add(w);
                Thread writer = new Thread(() -> {
                    // 100 kB answers: what the server sends piles up behind a client that never reads.
                    byte[] q = query("select repeat('x', 100000)");
                    byte[] batch = new byte[q.length * 100];
                    for (int k = 0; k < 100; k++) {
                        System.arraycopy(q, 0, batch, k * q.length, q.length);
                    }
                    try {
                        while (true) {
                            w.out.write(batch);
                            sent.addAndGet(100);
                        }
                    } catch (IOException closed) {
                        // the test closed the socket
                    }
                });
                writer.start();
                writers.add(writer);
            }
            try {
                long peak = peakRssWhile(s, 8_000);
                System.out.printf("two pipelining clients: %d queries sent, RSS %d MB before, %d MB at most%n",
                        sent.get(), before, peak);
                // Unbounded, two such clients took 430 MB within three seconds.
                assertThat(peak - before).as("RSS growth, MB").isLessThan(64);
            } finally {
                for (PgWire w : clients) {
                    w.close();
                }
                for (Thread t : writers) {
                    t.join(10_000);
                }
            }
            awaitNoClientWrite();
            assertThat(served(s)).isEqualTo("served");
        }
    }

    private static byte[] query(String sql) {
        byte[] text = (sql + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] m = new byte[5 + text.length];
        m[0] = 'Q';
        int len = 4 + text.length;
        m[1] = (byte) (len >>> 24);
        m[2] = (byte) (len >>> 16);
        m[3] = (byte) (len >>> 8);
        m[4] = (byte) len;
        System.arraycopy(text, 0, m, 5, text.length);
        return m;
    }

    @Test
    void hundredMegabyteParsesAreRefusedWithAClearErrorAndOthersAreServed() throws Exception {
        try (SluiceProcess s = SluiceProcess.start(DATABASES, SETTINGS + "\nmax_prepared_statements = 100", 0)) {
            assertThat(served(s)).isEqualTo("served");
            long before = s.rssMb();
            ExecutorService ex = Executors.newFixedThreadPool(6);
            try {
                List<Future<PgWire.Msg>> answers = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    PgWire w = login(s);
                    ex.submit(() -> sendHugeParse(w.out, 100 << 20));
                    answers.add(ex.submit(() -> {
                        try (w) {
                            return w.read();
                        }
                    }));
                }
                long peak = peakRssWhile(s, 3_000);
                for (Future<PgWire.Msg> f : answers) {
                    PgWire.Msg m = f.get(20, TimeUnit.SECONDS);
                    assertThat(m.type()).isEqualTo('E');
                    assertThat(PgWire.field(m, 'S')).isEqualTo("FATAL");
                    assertThat(PgWire.field(m, 'C')).isEqualTo("54000");
                    assertThat(PgWire.errorMessage(m)).isEqualTo("message 'P' of 104857600 bytes is larger than"
                            + " Sluice holds whole (16 MB, a quarter of its assembly budget)");
                }
                System.out.printf("three 100 MB Parses: RSS %d MB before, %d MB at most%n", before, peak);
                assertThat(peak - before).as("RSS growth, MB").isLessThan(64);
            } finally {
                ex.shutdownNow();
            }
            assertThat(served(s)).isEqualTo("served");
        }
    }

    /** A named Parse of {@code size} bytes, written until done or the socket is closed. */
    private static Void sendHugeParse(DataOutputStream out, int size) {
        try {
            out.writeByte('P');
            out.writeInt(size);
            out.write("big\0select '".getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[1 << 20];
            java.util.Arrays.fill(chunk, (byte) 'x');
            for (int sent = 16; sent < size - (1 << 20); sent += chunk.length) {
                out.write(chunk);
            }
        } catch (IOException closedBySluice) {
            // expected: Sluice refuses the message and closes
        }
        return null;
    }

    /** Parse of {@code sql} as {@code name}, then Sync; the type of the first reply that matters. */
    private static char prepare(PgWire w, String name, String sql) throws IOException {
        w.send(b -> PgWire.parseSync(b, name, sql));
        for (PgWire.Msg m : w.untilReadyOrError()) {
            if (m.type() == 'E') {
                return 'E';
            }
        }
        return '1';
    }

    @Test
    void preparedStatementsClientsKeepAreBoundedForAllClientsTogether() throws Exception {
        // A 64 MB heap: a quarter of it, 16 MB, is what clients' statement texts may hold.
        try (SluiceProcess s = SluiceProcess.start(DATABASES, SETTINGS + "\nmax_prepared_statements = 1000", 0,
                "-Xms64m -Xmx64m -XX:+UseG1GC")) {
            String text = "x".repeat(1 << 20);
            PgWire hoarder = login(s);
            int kept = 0;
            PgWire.Msg refusal = null;
            try {
                for (int i = 0; i < 100 && refusal == null; i++) {
                    int n = i;
                    hoarder.send(b -> PgWire.parseSync(b, "s" + n, "select '" + text + "' as c" + n));
                    PgWire.Msg m = hoarder.untilReadyOrError().get(0);
                    if (m.type() == 'E') {
                        refusal = m;
                    } else {
                        kept++;
                    }
                }
            } finally {
                hoarder.close();
            }
            assertThat(refusal).as("refused after %d statements", kept).isNotNull();
            assertThat(PgWire.field(refusal, 'C')).isEqualTo("54000");
            assertThat(PgWire.errorMessage(refusal)).contains("does not fit in the memory Sluice keeps for"
                    + " prepared statements (16 MB, all clients together)");
            assertThat(kept).isBetween(10, 16);
            assertThat(s.heapAfterGcMb()).as("heap after GC, MB").isLessThan(48);
            // The hoarder is gone and its share with it: another client prepares as before.
            Thread.sleep(300);
            try (PgWire w = login(s)) {
                assertThat(prepare(w, "again", "select '" + text + "' as again")).isEqualTo('1');
            }
            assertThat(served(s)).isEqualTo("served");
        }
    }

    @Test
    void connectionsThatNeverLogInLeaveNothingBehindAndLogLittle() throws Exception {
        try (SluiceProcess s = SluiceProcess.start(DATABASES, SETTINGS, 0)) {
            assertThat(served(s)).isEqualTo("served");
            // Warm up the paths the loop below takes, then measure.
            unauthenticated(s, 200, 1);
            long heapBefore = s.heapAfterGcMb();
            long logBefore = s.logBytes();
            long t0 = System.nanoTime();
            SluiceHarness.concurrently(4, 240, t -> unauthenticated(s, 3000, t + 2));
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0));
            long heapAfter = s.heapAfterGcMb();
            long logged = s.logBytes() - logBefore;
            System.out.printf("12,000 unauthenticated start-ups with 9 kB user names in %d s: heap %d -> %d MB,"
                    + " %d bytes logged%n", seconds, heapBefore, heapAfter, logged);
            // Each name kept would be 9 kB: 12,000 of them 100 MB, and as much again in the log.
            assertThat(heapAfter - heapBefore).as("heap kept, MB").isLessThan(16);
            // At most 20 lines a second about clients not logged in (and a count of the rest),
            // each with at most 64 characters of a name.
            assertThat(logged).as("bytes logged").isLessThan((seconds + 2) * 21 * 400L);
            assertThat(served(s)).isEqualTo("served");
        }
    }

    /** {@code n} start-ups with unique 9,000-character user names, each closed at the password request. */
    private static void unauthenticated(SluiceProcess s, int n, int seed) throws IOException {
        Random r = new Random(seed);
        char[] name = new char[9000];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < name.length; j++) {
                name[j] = (char) ('a' + r.nextInt(26));
            }
            try (PgWire w = PgWire.connect(s.port())) {
                w.startup(196608, "user\0" + new String(name) + "\0database\0postgres\0application_name\0"
                        + new String(name, 0, 500) + "\0");
                assertThat(w.read().type()).isEqualTo('R');
            }
        }
    }

    @Test
    void everySocketCountsAgainstMaxClientConnFromAcceptTheConsoleDatabaseToo() throws Exception {
        try (SluiceProcess s = SluiceProcess.start(DATABASES, SETTINGS + "\nmax_client_conn = 20", 0)) {
            List<Socket> held = new ArrayList<>();
            try {
                // Twenty sockets that ask for the console's database and never log in.
                for (int i = 0; i < 20; i++) {
                    PgWire w = PgWire.connect(s.port());
                    w.startup(196608, "user\0anyone\0database\0pgbouncer\0");
                    assertThat(w.read().type()).isEqualTo('R');
                    held.add(w.socket);
                }
                try (PgWire w = PgWire.connect(s.port())) {
                    w.startup(196608, "user\0md5user\0database\0postgres\0");
                    PgWire.Msg m = w.read();
                    assertThat(m.type()).isEqualTo('E');
                    assertThat(PgWire.errorMessage(m)).isEqualTo("no more connections allowed (max_client_conn)");
                    assertThat(w.closedByPeer()).isTrue();
                }
                // Sluice counts the refused one out once its socket is closed on its side too.
                Thread.sleep(300);
                // Ten more are kept for the console; past those a socket is closed as it is accepted.
                for (int i = 0; i < 10; i++) {
                    held.add(new Socket("127.0.0.1", s.port()));
                }
                Thread.sleep(300);
                try (Socket extra = new Socket("127.0.0.1", s.port())) {
                    extra.setSoTimeout(5_000);
                    assertThat(extra.getInputStream().read()).isEqualTo(-1);
                }
            } finally {
                for (Socket k : held) {
                    k.close();
                }
            }
            Thread.sleep(500);
            assertThat(served(s)).isEqualTo("served");
        }
    }

    @Test
    void runningOutOfFileDescriptorsPausesAcceptingWithALineASecond() throws Exception {
        try (SluiceProcess s = SluiceProcess.start(DATABASES, SETTINGS + "\nmax_client_conn = 10000", 96)) {
            assertThat(served(s)).isEqualTo("served");
            List<Socket> held = new ArrayList<>();
            long t0 = System.nanoTime();
            try {
                for (int i = 0; i < 300; i++) {
                    Socket k = new Socket();
                    try {
                        k.connect(new InetSocketAddress("127.0.0.1", s.port()), 200);
                        held.add(k);
                    } catch (SocketTimeoutException backlogFull) {
                        k.close();
                    }
                }
                Thread.sleep(2_000);
            } finally {
                for (Socket k : held) {
                    k.close();
                }
            }
            // Serves again once the sockets are gone.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            String answer = null;
            while (answer == null && System.nanoTime() < deadline) {
                try {
                    answer = served(s);
                } catch (Exception notYet) {
                    Thread.sleep(500);
                }
            }
            assertThat(answer).isEqualTo("served");
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0) + 1;
            long lines = s.logLines("Too many open files");
            System.out.printf("fd exhaustion: %d sockets held for %d s, %d accept-failure lines%n",
                    held.size(), seconds, lines);
            assertThat(lines).isGreaterThan(0).isLessThanOrEqualTo(seconds + 2);
        }
    }
}
