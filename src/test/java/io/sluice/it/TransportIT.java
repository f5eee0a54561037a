package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each socket transport Sluice can run on (--transport), one by one: the one asked for is the
 * one used where this system has it, and clients over TCP and the Unix socket get their own
 * rows and whole large results through a small transaction pool on two event loops. The rest
 * of the integration tests run on the default transport, and again on epoll (pom.xml).
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TransportIT {
    private static final String DATABASES =
            "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=2 pool_mode=transaction";
    private static final String SETTINGS = "auth_type = md5\nmax_client_conn = 100";
    private static final int CLIENTS = 6;
    private static final int ROUNDS = 30;

    @BeforeAll
    static void table() throws Exception {
        execute("CREATE TABLE IF NOT EXISTS transport_rows (transport text, client int, n int)");
    }

    @AfterAll
    static void dropTable() throws Exception {
        execute("DROP TABLE IF EXISTS transport_rows");
    }

    private static void execute(String sql) throws Exception {
        try (SluiceHarness h = SluiceHarness.start(DATABASES, SETTINGS, SluiceHarness.USERLIST);
                Connection c = h.connect("tx", "md5user", "md5pass");
                Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "nio"})
    void relaysOnEachTransport(String transport) throws Exception {
        assumeTrue(!transport.equals("io_uring") || IoUring.isAvailable(), "io_uring unavailable here");
        assumeTrue(!transport.equals("epoll") || Epoll.isAvailable(), "epoll unavailable here");
        try (SluiceHarness h = SluiceHarness.start(DATABASES, SETTINGS, SluiceHarness.USERLIST, 2, 1, transport)) {
            assertThat(h.sluice().transportName()).isEqualTo(transport);
            SluiceHarness.concurrently(CLIENTS, 90, id -> {
                try (Connection c = h.connect("tx", "md5user", "md5pass")) {
                    c.setAutoCommit(false);
                    try (PreparedStatement insert = c.prepareStatement(
                            "INSERT INTO transport_rows VALUES (?, ?, ?)")) {
                        for (int n = 0; n < ROUNDS; n++) {
                            insert.setString(1, transport);
                            insert.setInt(2, id);
                            insert.setInt(3, n);
                            insert.executeUpdate();
                            c.commit();
                        }
                    }
                    c.setAutoCommit(true);
                    try (Statement s = c.createStatement();
                            ResultSet rs = s.executeQuery("SELECT count(*), sum(n) FROM transport_rows"
                                    + " WHERE transport = '" + transport + "' AND client = " + id)) {
                        rs.next();
                        assertThat(rs.getInt(1)).as("client %d's rows", id).isEqualTo(ROUNDS);
                        assertThat(rs.getLong(2)).isEqualTo((long) ROUNDS * (ROUNDS - 1) / 2);
                    }
                    // About 4 MB in one reply: many reads and writes, and backpressure on the way.
                    try (Statement s = c.createStatement();
                            ResultSet rs = s.executeQuery("SELECT i, repeat(chr(65 + " + id + "), 400)"
                                    + " FROM generate_series(1, 10000) i")) {
                        int rows = 0;
                        while (rs.next()) {
                            rows++;
                            assertThat(rs.getInt(1)).isEqualTo(rows);
                            assertThat(rs.getString(2)).hasSize(400).startsWith(String.valueOf((char) (65 + id)));
                        }
                        assertThat(rows).isEqualTo(10000);
                    }
                }
            });
            var viaSocket = SluiceHarness.psql("-X", "-At", "-c", "SELECT count(*) FROM transport_rows"
                    + " WHERE transport = '" + transport + "'",
                    "postgresql://md5user:md5pass@/tx?host=" + h.socketDir() + "&port=" + h.port());
            assertThat(viaSocket.output()).as("psql over the Unix socket").isEqualTo(String.valueOf(CLIENTS * ROUNDS));
            assertThat(viaSocket.exitCode()).isZero();
        }
    }
}
