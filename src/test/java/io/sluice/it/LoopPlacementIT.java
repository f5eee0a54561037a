package io.sluice.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Which event loop a client lands on. By count (--pack-cpu 0): the first loop takes clients up
 * to --pack-clients, then the next; past that they are spread evenly; a closed client frees its
 * place. With --pack-cpu 75 a loop past --pack-clients also keeps taking clients while it is not busy.
 * Every client keeps working wherever it lands.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LoopPlacementIT {
    private static final String DATABASES =
            "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=4 pool_mode=transaction";
    private static final String SETTINGS = "auth_type = md5\nmax_client_conn = 100";

    @Test
    void fillsTheFirstLoopThenSpreads() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES, SETTINGS, SluiceHarness.USERLIST, 2, 8)) {
            List<Connection> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 6; i++) {
                    clients.add(h.connect("tx", "md5user", "md5pass"));
                }
                assertArrayEquals(new int[] {6, 0}, h.sluice().clientsPerLoop(), "a few clients share one loop");
                for (int i = 0; i < 6; i++) {
                    clients.add(h.connect("tx", "md5user", "md5pass"));
                }
                assertArrayEquals(new int[] {8, 4}, h.sluice().clientsPerLoop(), "the second loop after 8");
                for (int i = 0; i < 8; i++) {
                    clients.add(h.connect("tx", "md5user", "md5pass"));
                }
                assertArrayEquals(new int[] {10, 10}, h.sluice().clientsPerLoop(), "then the emptier loop");
                for (Connection c : clients) {
                    assertEquals(42, one(c, "select 42"));
                }
                for (int i = 0; i < 5; i++) {
                    clients.remove(0).close();
                }
                awaitCounts(h, new int[] {5, 10});
                clients.add(h.connect("tx", "md5user", "md5pass"));
                assertArrayEquals(new int[] {6, 10}, h.sluice().clientsPerLoop(), "a freed place is taken again");
                assertEquals(7, one(clients.get(clients.size() - 1), "select 7"));
            } finally {
                for (Connection c : clients) {
                    c.close();
                }
            }
            awaitCounts(h, new int[] {0, 0});
        }
    }

    @Test
    void packOfOneSpreadsFromTheStart() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES, SETTINGS, SluiceHarness.USERLIST, 2, 1)) {
            try (Connection a = h.connect("tx", "md5user", "md5pass");
                    Connection b = h.connect("tx", "md5user", "md5pass")) {
                assertArrayEquals(new int[] {1, 1}, h.sluice().clientsPerLoop());
                assertEquals(1, one(a, "select 1"));
                assertEquals(2, one(b, "select 2"));
            }
        }
    }

    @Test
    void aLoopWithHeadroomKeepsTakingClients() throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES, SETTINGS, SluiceHarness.USERLIST, 2, 4, 75)) {
            // Logins on a cold JIT cost far more than warm ones: warm the path, then let the
            // loop's measured load settle, so what is tested is a loop with headroom.
            for (int i = 0; i < 3; i++) {
                try (Connection c = h.connect("tx", "md5user", "md5pass")) {
                    assertEquals(1, one(c, "select 1"));
                }
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (h.sluice().loadPerLoop()[0] >= 200 && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            awaitCounts(h, new int[] {0, 0});
            List<Connection> clients = new ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) {
                    clients.add(h.connect("tx", "md5user", "md5pass"));
                }
                int[] load = h.sluice().loadPerLoop();
                assertTrue(load[0] < 750, "ten logins keep a loop far from busy: " + Arrays.toString(load));
                assertArrayEquals(new int[] {10, 0}, h.sluice().clientsPerLoop(),
                        "past --pack-clients 4, the first loop still has a core's headroom");
                for (int i = 0; i < clients.size(); i++) {
                    assertEquals(i, one(clients.get(i), "select " + i));
                }
            } finally {
                for (Connection c : clients) {
                    c.close();
                }
            }
        }
    }

    private static int one(Connection c, String sql) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** A client's close reaches Sluice a moment after the driver returns. */
    private static void awaitCounts(SluiceHarness h, int[] want) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!java.util.Arrays.equals(want, h.sluice().clientsPerLoop()) && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertArrayEquals(want, h.sluice().clientsPerLoop());
    }
}
