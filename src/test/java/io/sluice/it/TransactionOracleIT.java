package io.sluice.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.protocol.PgWriter;
import io.sluice.testing.LeakCheck;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The cross-client oracle: many clients over a pool much smaller than their number, each
 * writing and reading rows tagged with its own identity, in the simple and the extended
 * protocol and with pipelined Syncs. Any row, value or reply reaching the wrong client fails
 * the test. At least 100,000 transactions.
 */
@ExtendWith(LeakCheck.class)
@Timeout(value = 400, unit = TimeUnit.SECONDS)
class TransactionOracleIT {
    private static final int JDBC_CLIENTS = 48;
    private static final int WIRE_CLIENTS = 8;
    private static final int TX_PER_JDBC_CLIENT = 1900;
    private static final int ROUNDS_PER_WIRE_CLIENT = 600;

    @Test
    void noRowEverReachesTheWrongClient() throws Exception {
        try (Connection d = TestPostgres.direct(); Statement st = d.createStatement()) {
            st.execute("DROP TABLE IF EXISTS oracle");
            st.execute("CREATE TABLE oracle (client int, seq int, tag text)");
            st.execute("CREATE INDEX ON oracle (client, seq)");
            st.execute("GRANT ALL ON oracle TO md5user");
        }
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        AtomicLong transactions = new AtomicLong();
        try (SluiceHarness h = SluiceHarness.start(
                "tx = host=127.0.0.1 port=${PG_PORT} dbname=postgres pool_size=4 pool_mode=transaction",
                "auth_type = md5\nmax_client_conn = 200", SluiceHarness.USERLIST)) {
            ExecutorService ex = Executors.newFixedThreadPool(JDBC_CLIENTS + WIRE_CLIENTS);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < JDBC_CLIENTS; i++) {
                    int id = i;
                    futures.add(ex.submit(() -> jdbcClient(h, id, wrong, transactions)));
                }
                for (int i = 0; i < WIRE_CLIENTS; i++) {
                    int id = 1000 + i;
                    futures.add(ex.submit(() -> wireClient(h, id, wrong, transactions)));
                }
                for (Future<?> f : futures) {
                    f.get(380, TimeUnit.SECONDS);
                }
            } finally {
                ex.shutdownNow();
            }
        }
        assertThat(wrong).as("replies that reached the wrong client").isEmpty();
        assertThat(transactions.get()).isGreaterThanOrEqualTo(100_000);
    }

    /** A pgjdbc client; even ids use the simple protocol, odd ones the extended protocol. */
    private static Void jdbcClient(SluiceHarness h, int id, ConcurrentLinkedQueue<String> wrong,
            AtomicLong transactions) throws Exception {
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "0");
        p.setProperty("preferQueryMode", id % 2 == 0 ? "simple" : "extended");
        int written = 0;
        try (Connection c = h.connect("tx", "md5user", "md5pass", p);
                PreparedStatement echo = c.prepareStatement("SELECT ?::int, ?::int, ?::text");
                PreparedStatement insert = c.prepareStatement("INSERT INTO oracle VALUES (?, ?, ?)");
                PreparedStatement last = c.prepareStatement(
                        "SELECT seq, tag FROM oracle WHERE client = ? ORDER BY seq DESC LIMIT 1")) {
            for (int seq = 0; seq < TX_PER_JDBC_CLIENT; seq++) {
                String tag = "c" + id + "-" + seq;
                if (seq % 10 == 0) {
                    c.setAutoCommit(false);
                    insert.setInt(1, id);
                    insert.setInt(2, seq);
                    insert.setString(3, tag);
                    insert.executeUpdate();
                    last.setInt(1, id);
                    try (ResultSet rs = last.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) != seq || !tag.equals(rs.getString(2))) {
                            wrong.add(id + " wrote " + tag + " read " + rs.getInt(1) + "/" + rs.getString(2));
                        }
                    }
                    c.commit();
                    c.setAutoCommit(true);
                    written++;
                } else {
                    echo.setInt(1, id);
                    echo.setInt(2, seq);
                    echo.setString(3, tag);
                    try (ResultSet rs = echo.executeQuery()) {
                        rs.next();
                        if (rs.getInt(1) != id || rs.getInt(2) != seq || !tag.equals(rs.getString(3))) {
                            wrong.add(id + " expected " + tag + " got " + rs.getInt(1) + "/" + rs.getString(3));
                        }
                    }
                }
                transactions.incrementAndGet();
            }
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT count(*) FROM oracle WHERE client = " + id)) {
                rs.next();
                if (rs.getInt(1) != written) {
                    wrong.add(id + " wrote " + written + " rows, found " + rs.getInt(1));
                }
            }
        }
        return null;
    }

    /** A raw client pipelining three extended-protocol queries, each with its own Sync, per write. */
    private static Void wireClient(SluiceHarness h, int id, ConcurrentLinkedQueue<String> wrong,
            AtomicLong transactions) throws Exception {
        try (PgWire w = new PgWire(h.port(), "md5user", "md5pass", "tx")) {
            for (int round = 0; round < ROUNDS_PER_WIRE_CLIENT; round++) {
                String[] tags = new String[3];
                for (int k = 0; k < 3; k++) {
                    tags[k] = "w" + id + "-" + round + "-" + k;
                }
                w.send(b -> {
                    for (String t : tags) {
                        PgWire.extendedQuery(b, "SELECT '" + t + "'");
                    }
                    PgWriter.query(b, "SELECT '" + tags[0] + "-simple'");
                });
                for (int k = 0; k < 4; k++) {
                    String expected = k < 3 ? tags[k] : tags[0] + "-simple";
                    String got = null;
                    for (PgWire.Msg m : w.untilReady()) {
                        if (m.type() == 'D') {
                            got = m.firstColumn();
                        } else if (m.type() == 'E') {
                            got = "error " + m.text();
                        }
                    }
                    if (!expected.equals(got)) {
                        wrong.add(id + " expected " + expected + " got " + got);
                    }
                    transactions.incrementAndGet();
                }
            }
        }
        return null;
    }
}
