package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.protocol.PgWriter;
import io.sluice.testing.LeakCheck;
import java.io.IOException;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A CancelRequest reaches only the query of the client whose key it carries. In transaction mode
 * with one server, that server goes from client to client between queries; a cancel that reached
 * PostgreSQL after the server had moved on once cancelled whichever bystander had it then.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class CancelIT {
    /** At least this many CancelRequests, for at least {@link #RACE_MILLIS}. */
    private static final int CANCELS = 2000;
    private static final long RACE_MILLIS = 8_000;
    private static final int BYSTANDERS = 4;

    private static SluiceHarness sluice;

    @BeforeAll
    static void start() {
        sluice = SluiceHarness.start("one = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=1",
                "auth_type = trust\npool_mode = transaction", SluiceHarness.USERLIST, 1);
    }

    @AfterAll
    static void stop() {
        sluice.close();
    }

    /** A logged-in client with the BackendKeyData Sluice gave it. */
    private static final class Client implements AutoCloseable {
        final PgWire wire;
        int pid;
        int key;

        Client() throws IOException {
            wire = PgWire.connect(sluice.port());
            wire.startup(196608, "user\0postgres\0database\0one\0");
            for (PgWire.Msg m : wire.untilReady()) {
                if (m.type() == 'K') {
                    byte[] b = m.body();
                    pid = ((b[0] & 0xff) << 24) | ((b[1] & 0xff) << 16) | ((b[2] & 0xff) << 8) | (b[3] & 0xff);
                    key = ((b[4] & 0xff) << 24) | ((b[5] & 0xff) << 16) | ((b[6] & 0xff) << 8) | (b[7] & 0xff);
                }
            }
        }

        /** Runs {@code sql}; returns the SQLSTATE of its error, or null. */
        String run(String sql) throws IOException {
            wire.send(b -> PgWriter.query(b, sql));
            String state = null;
            for (PgWire.Msg m : wire.untilReady()) {
                if (m.type() == 'E') {
                    state = PgWire.field(m, 'C');
                }
            }
            return state;
        }

        @Override
        public void close() throws IOException {
            wire.close();
        }
    }

    /** Sends a CancelRequest as libpq's PQcancel does, and waits for the connection to close. */
    private static void cancel(int pid, int key) throws IOException {
        try (PgWire w = PgWire.connect(sluice.port())) {
            w.out.writeInt(16);
            w.out.writeInt(80877102);
            w.out.writeInt(pid);
            w.out.writeInt(key);
            w.out.flush();
            assertThat(w.closedByPeer()).isTrue();
        }
    }

    @Test
    void cancelsOfOneClientsShortQueriesNeverCancelAnotherClientsQuery() throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger bystanderCancels = new AtomicInteger();
        AtomicInteger bystanderQueries = new AtomicInteger();
        AtomicInteger ownCancels = new AtomicInteger();
        AtomicInteger sent = new AtomicInteger();
        try (Client target = new Client()) {
            SluiceHarness.concurrently(2 + BYSTANDERS, 200, i -> {
                if (i == 0) {
                    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RACE_MILLIS);
                    try {
                        for (int n = 0; n < CANCELS || System.nanoTime() < end; n++) {
                            cancel(target.pid, target.key);
                            sent.incrementAndGet();
                        }
                    } finally {
                        stop.set(true);
                    }
                } else if (i == 1) {
                    while (!stop.get()) {
                        if ("57014".equals(target.run("select 1"))) {
                            ownCancels.incrementAndGet();
                        }
                    }
                } else {
                    try (Client c = new Client()) {
                        while (!stop.get()) {
                            // Busy most of the time, so a signal that lands late finds one of these.
                            String state = c.run("select pg_sleep(0.002)");
                            bystanderQueries.incrementAndGet();
                            if (state != null) {
                                bystanderCancels.incrementAndGet();
                            }
                        }
                    }
                }
            });
        }
        System.out.printf("cancel race: %d sent, %d own queries cancelled, %d bystander queries, %d cancelled%n",
                sent.get(), ownCancels.get(), bystanderQueries.get(), bystanderCancels.get());
        // The race had its chances: bystanders ran all along the cancels.
        assertThat(sent.get()).isGreaterThanOrEqualTo(CANCELS);
        assertThat(bystanderQueries.get()).isGreaterThan(500);
        assertThat(bystanderCancels.get()).as("bystander queries cancelled (own cancels: %s)", ownCancels)
                .isZero();
    }

    @Test
    void aCancelStillStopsItsOwnClientsRunningQuery() throws Exception {
        try (Client target = new Client(); Client other = new Client()) {
            long t0 = System.nanoTime();
            Thread canceller = new Thread(() -> {
                try {
                    Thread.sleep(500);
                    cancel(target.pid, target.key);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            canceller.start();
            assertThat(target.run("select pg_sleep(20)")).isEqualTo("57014");
            canceller.join();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(10_000);
            // The one server was held for the cancel, then served the next client as usual.
            assertThat(other.run("select 1")).isNull();
            assertThat(target.run("select 1")).isNull();
        }
    }

    @Test
    void aCancelForAClientWithNoQueryRunningIsDroppedAndItsConnectionClosed() throws Exception {
        try (Client idle = new Client(); Client busy = new Client()) {
            Thread runner = new Thread(() -> {
                try {
                    assertThat(busy.run("select pg_sleep(1)")).isNull();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            runner.start();
            Thread.sleep(300);
            cancel(idle.pid, idle.key);
            cancel(12345, 67890);
            runner.join();
            assertThat(Arrays.asList(idle.run("select 1"), busy.run("select 1"))).containsOnlyNulls();
        }
    }
}
