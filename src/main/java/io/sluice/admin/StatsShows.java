package io.sluice.admin;

import static io.sluice.admin.Column.numeric;
import static io.sluice.admin.Column.text;
import static io.sluice.admin.Shows.done;
import static io.sluice.admin.Shows.writer;

import io.sluice.metrics.StatsWindow;
import io.sluice.metrics.Totals;
import io.sluice.pool.Pool;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * SHOW STATS, STATS_TOTALS, STATS_AVERAGES and TOTALS: PgBouncer's counters per database (its
 * pools summed, the console's own as {@code pgbouncer}), all numeric, with PgBouncer's column
 * names in each (which differ between the four).
 */
final class StatsShows {
    private final Console console;

    StatsShows(Console console) {
        this.console = console;
    }

    private SortedMap<String, Totals> totalsByDatabase() {
        SortedMap<String, Totals> m = console.counters().byDatabase();
        // Only databases with a pool, as PgBouncer lists them, plus the console's own.
        SortedMap<String, Totals> out = new TreeMap<>();
        for (Pool p : console.pools().pools()) {
            String db = p.config().database();
            out.put(db, m.getOrDefault(db, Totals.ZERO));
        }
        out.put("pgbouncer", m.getOrDefault("pgbouncer", Totals.ZERO));
        return out;
    }

    private static final String[] STAT_NAMES = {"server_assignment_count", "xact_count", "query_count", "received",
        "sent", "xact_time", "query_time", "wait_time", "client_parse_count", "server_parse_count", "bind_count",
        "client_login_count"};

    void stats(AdminSession s, Console.Reply reply, boolean totals, boolean averages, String totalPrefix,
            String avgPrefix) {
        List<Column> cols = new ArrayList<>(List.of(text("database")));
        boolean plain = totalPrefix.isEmpty();
        if (totals) {
            for (String n : STAT_NAMES) {
                cols.add(numeric(plain ? plainTotal(n) : totalPrefix + n));
            }
        }
        if (averages) {
            for (String n : STAT_NAMES) {
                cols.add(numeric(plain ? plainAverage(n) : avgPrefix + avgName(n)));
            }
        }
        ResultWriter w = writer(s, cols);
        long now = System.nanoTime();
        for (var e : totalsByDatabase().entrySet()) {
            Totals t = e.getValue();
            w.row().text(e.getKey());
            if (totals) {
                values(w, t.serverAssignments(), t.transactions(), t.queries(), t.received(), t.sent(),
                        t.transactionMicros(), t.queryMicros(), t.waitMicros(), t.clientParses(), t.serverParses(),
                        t.binds(), t.clientLogins());
            }
            if (averages) {
                StatsWindow.Averages a = console.stats().averages(e.getKey(), t, now);
                values(w, a.serverAssignments(), a.transactions(), a.queries(), a.received(), a.sent(),
                        a.transactionMicros(), a.queryMicros(), a.waitMicros(), a.clientParses(), a.serverParses(),
                        a.binds(), a.clientLogins());
            }
        }
        done(w, reply);
    }

    /** SHOW STATS' average names: PgBouncer shortens "received" to "recv". */
    private static String avgName(String n) {
        return n.equals("received") ? "recv" : n;
    }

    /** SHOW STATS_TOTALS' names: the bytes are bytes_received and bytes_sent. */
    private static String plainTotal(String n) {
        return switch (n) {
            case "received" -> "bytes_received";
            case "sent" -> "bytes_sent";
            default -> n;
        };
    }

    /** SHOW STATS_AVERAGES' names: only the last four carry avg_. */
    private static String plainAverage(String n) {
        return switch (n) {
            case "client_parse_count", "server_parse_count", "bind_count", "client_login_count" -> "avg_" + n;
            default -> plainTotal(n);
        };
    }

    private static void values(ResultWriter w, long... v) {
        for (long x : v) {
            w.numeric(Long.toString(x));
        }
    }

    private static final String[] TOTAL_NAMES = {"server_assignment_count", "xact_count", "query_count",
        "client_bytes", "server_bytes", "xact_time", "query_time", "wait_time", "ps_client_parse_count",
        "ps_server_parse_count", "ps_bind_count", "client_login_count"};

    void totals(AdminSession s, Console.Reply reply) {
        SortedMap<String, Totals> m = totalsByDatabase();
        Totals t = Totals.ZERO;
        for (Totals x : m.values()) {
            t = t.plus(x);
        }
        StatsWindow.Averages a = console.stats().averages(m, System.nanoTime());
        long[] tv = {t.serverAssignments(), t.transactions(), t.queries(), t.received(), t.sent(),
            t.transactionMicros(), t.queryMicros(), t.waitMicros(), t.clientParses(), t.serverParses(), t.binds(),
            t.clientLogins()};
        long[] av = {a.serverAssignments(), a.transactions(), a.queries(), a.received(), a.sent(),
            a.transactionMicros(), a.queryMicros(), a.waitMicros(), a.clientParses(), a.serverParses(), a.binds(),
            a.clientLogins()};
        ResultWriter w = writer(s, List.of(text("name"), numeric("value")));
        for (int i = 0; i < TOTAL_NAMES.length; i++) {
            w.row().text("total_" + TOTAL_NAMES[i]).numeric(Long.toString(tv[i]));
        }
        for (int i = 0; i < TOTAL_NAMES.length; i++) {
            w.row().text("avg_" + TOTAL_NAMES[i]).numeric(Long.toString(av[i]));
        }
        done(w, reply);
    }
}
