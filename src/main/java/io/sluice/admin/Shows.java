package io.sluice.admin;

import static io.sluice.admin.Column.int4;
import static io.sluice.admin.Column.int8;
import static io.sluice.admin.Column.text;

import io.netty.buffer.ByteBuf;
import io.sluice.config.Config;
import io.sluice.config.DatabaseConfig;
import io.sluice.config.Settings;
import io.sluice.config.UserConfig;
import io.sluice.pool.ClientState;
import io.sluice.pool.ConnectionRow;
import io.sluice.pool.PoolConfig;
import io.sluice.pool.ServerState;
import io.sluice.pool.ShardSnapshot;
import io.sluice.protocol.BackendCodes;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The console's SHOW commands, with PgBouncer 1.25's columns, types and row order, so that
 * pgbouncer_exporter, pgbouncer_fdw and people's scripts read Sluice unchanged. What describes
 * PgBouncer's internals is given as Sluice's nearest real equivalent (docs/admin.md says which);
 * nothing is invented. Connection counts come from snapshots each loop takes of its own pools.
 */
final class Shows {
    /** The PgBouncer version whose console this one matches (server_version, SHOW VERSION). */
    static final String PGBOUNCER_VERSION = "1.25.2";
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss z", Locale.ROOT);

    private final Console console;
    private final StatsShows statsShows;

    Shows(Console console) {
        this.console = console;
        this.statsShows = new StatsShows(console);
    }

    static void commandComplete(ByteBuf out, String tag) {
        out.writeByte(BackendCodes.COMMAND_COMPLETE);
        int at = out.writerIndex();
        out.writeInt(0);
        out.writeCharSequence(tag, StandardCharsets.UTF_8);
        out.writeByte(0);
        out.setInt(at, out.writerIndex() - at);
    }

    void show(AdminSession s, String what, String text, Console.Reply reply) {
        if (Console.FAKE_PARAMETERS.containsKey(what)) {
            ResultWriter w = writer(s, List.of(text(what)));
            w.row().text(Console.FAKE_PARAMETERS.get(what));
            done(w, reply);
            return;
        }
        switch (what) {
            case "help" -> help(s, reply);
            case "version" -> {
                ResultWriter w = writer(s, List.of(text("version")));
                w.row().text("PgBouncer " + PGBOUNCER_VERSION + " (Sluice " + SluiceVersion.VERSION + ")");
                done(w, reply);
            }
            case "config" -> config(s, reply);
            case "databases" -> snapshot(false, s, reply, snaps -> databases(s, snaps, reply));
            case "users" -> snapshot(false, s, reply, snaps -> users(s, snaps, reply));
            case "pools" -> snapshot(false, s, reply, snaps -> pools(s, snaps, reply));
            case "clients" -> snapshot(true, s, reply, snaps -> connections(s, snaps, true, false, false, reply));
            case "servers" -> snapshot(true, s, reply, snaps -> connections(s, snaps, false, true, false, reply));
            case "sockets" -> snapshot(true, s, reply, snaps -> connections(s, snaps, true, true, true, reply));
            case "active_sockets" -> snapshot(true, s, reply, snaps -> connections(s, snaps, true, true, true, reply));
            case "lists" -> snapshot(false, s, reply, snaps -> lists(s, snaps, reply));
            case "state" -> state(s, reply);
            case "mem" -> mem(s, reply);
            case "stats" -> statsShows.stats(s, reply, true, true, "total_", "avg_");
            case "stats_totals" -> statsShows.stats(s, reply, true, false, "", "");
            case "stats_averages" -> statsShows.stats(s, reply, false, true, "", "");
            case "totals" -> statsShows.totals(s, reply);
            case "peers" -> done(writer(s, List.of(int4("peer_id"), text("host"), int4("port"), int4("pool_size"))),
                    reply);
            case "peer_pools" -> done(writer(s, List.of(int4("peer_id"), int4("cl_active_cancel_req"),
                    int4("cl_waiting_cancel_req"), int4("sv_active_cancel"), int4("sv_login"))), reply);
            case "dns_hosts" -> done(writer(s, List.of(text("hostname"), int8("ttl"), text("addrs"))), reply);
            case "dns_zones" -> done(writer(s, List.of(text("zonename"), int8("serial"), int4("count"))), reply);
            case "fds" -> {
                if (!s.admin()) {
                    throw new AdminException("admin access needed");
                }
                // File descriptors are handed over for online restart (-R), which Sluice does not do.
                throw new AdminException("SHOW FDS is not supported by Sluice: it exists for online restart (-R)");
            }
            default -> throw Console.invalid(text);
        }
    }

    static ResultWriter writer(AdminSession s, List<Column> columns) {
        return new ResultWriter(s.channel().alloc().buffer(), columns);
    }

    static void done(ResultWriter w, Console.Reply reply) {
        w.complete("SHOW");
        reply.result(w.out());
    }

    /**
     * Runs {@code then} with a snapshot of every pool, on {@code s}'s loop. A failure there is
     * the command's error: thrown on the loop it would leave the console waiting for ever.
     */
    private void snapshot(boolean rows, AdminSession s, Console.Reply reply, Consumer<List<ShardSnapshot>> then) {
        console.pools().snapshot(rows, s.channel().eventLoop(), snaps -> {
            try {
                then.accept(snaps);
            } catch (AdminException e) {
                reply.error(e);
            } catch (RuntimeException e) {
                org.slf4j.LoggerFactory.getLogger(Shows.class).error("{} SHOW failed", s.logId(), e);
                reply.error(new AdminException("command failed: " + e));
            }
        });
    }

    // ---- HELP, CONFIG, STATE, MEM ----

    private static final String HELP = "\n\tSHOW HELP|CONFIG|DATABASES|POOLS|CLIENTS|SERVERS|USERS|VERSION\n"
            + "\tSHOW PEERS|PEER_POOLS\n\tSHOW FDS|SOCKETS|ACTIVE_SOCKETS|LISTS|MEM|STATE\n"
            + "\tSHOW DNS_HOSTS|DNS_ZONES\n\tSHOW STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS\n\tSET key = arg\n"
            + "\tRELOAD\n\tPAUSE [<db>]\n\tRESUME [<db>]\n\tDISABLE <db>\n\tENABLE <db>\n\tRECONNECT [<db>]\n"
            + "\tKILL [<db>]\n\tKILL_CLIENT <client_id>\n\tSUSPEND\n\tSHUTDOWN\n"
            + "\tSHUTDOWN WAIT_FOR_SERVERS|WAIT_FOR_CLIENTS\n\tWAIT_CLOSE [<db>]";

    private static void help(AdminSession s, Console.Reply reply) {
        ByteBuf out = s.channel().alloc().buffer();
        out.writeByte(BackendCodes.NOTICE_RESPONSE);
        int at = out.writerIndex();
        out.writeInt(0);
        for (String field : new String[] {"SNOTICE", "C00000", "MConsole usage", "D" + HELP}) {
            out.writeCharSequence(field, StandardCharsets.UTF_8);
            out.writeByte(0);
        }
        out.writeByte(0);
        out.setInt(at, out.writerIndex() - at);
        commandComplete(out, "SHOW");
        reply.result(out);
    }

    private void config(AdminSession s, Console.Reply reply) {
        Settings st = console.config().settings();
        ResultWriter w = writer(s, List.of(text("key"), text("value"), text("default"), text("changeable")));
        for (String key : Settings.knownKeys()) {
            String value = st.value(key);
            String def = Settings.defaultValue(key);
            // PgBouncer shows an unset text setting as NULL, and its default too.
            w.row().text(key).text(value.isEmpty() && def.isEmpty() ? null : value).text(def.isEmpty() ? null : def)
                    .text(Settings.reloadable(key) ? "yes" : "no");
        }
        done(w, reply);
    }

    private void state(AdminSession s, Console.Reply reply) {
        boolean paused = console.pools().pausedAll();
        ResultWriter w = writer(s, List.of(text("key"), text("value")));
        w.row().text("active").text(paused ? "no" : "yes");
        w.row().text("paused").text(paused ? "yes" : "no");
        w.row().text("suspended").text("no");
        done(w, reply);
    }

    /**
     * PgBouncer lists its slab allocators here (its 1.25.2 build lists none). Sluice's nearest
     * real equivalent: the JVM heap and Netty's direct buffer pool, in bytes (size 1).
     */
    private static void mem(AdminSession s, Console.Reply reply) {
        ResultWriter w = writer(s, List.of(text("name"), int4("size"), int4("used"), int4("free"), int4("memtotal")));
        Runtime rt = Runtime.getRuntime();
        long heapTotal = rt.totalMemory();
        long heapUsed = heapTotal - rt.freeMemory();
        w.row().text("jvm_heap").int4(1).int4(clamp(heapUsed)).int4(clamp(heapTotal - heapUsed)).int4(clamp(heapTotal));
        io.netty.buffer.ByteBufAllocatorMetric m = io.netty.buffer.PooledByteBufAllocator.DEFAULT.metric();
        long direct = m.usedDirectMemory();
        w.row().text("netty_direct").int4(1).int4(clamp(direct)).int4(0).int4(clamp(direct));
        done(w, reply);
    }

    private static int clamp(long v) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(0, v));
    }

    // ---- DATABASES, USERS, POOLS ----

    private void databases(AdminSession s, List<ShardSnapshot> snaps, Console.Reply reply) {
        Config c = console.config();
        Settings st = c.settings();
        ResultWriter w = writer(s, List.of(text("name"), text("host"), int4("port"), text("database"),
                text("force_user"), int4("pool_size"), int4("min_pool_size"), int4("reserve_pool_size"),
                int4("server_lifetime"), text("pool_mode"), text("load_balance_hosts"), int4("max_connections"),
                int4("current_connections"), int4("max_client_connections"), int4("current_client_connections"),
                int4("paused"), int4("disabled")));
        TreeMap<String, DatabaseConfig> dbs = new TreeMap<>(c.databases());
        for (ShardSnapshot snap : snaps) {
            String name = snap.pool().config().database();
            if (!dbs.containsKey(name)) {
                c.database(name).ifPresent(d -> dbs.put(name, d));
            }
        }
        TreeSet<String> names = new TreeSet<>(dbs.keySet());
        names.add("pgbouncer");
        for (String name : names) {
            if (name.equals("pgbouncer")) {
                w.row().text("pgbouncer").nul().int4(console.operator().listenPort()).text("pgbouncer")
                        .text("pgbouncer").int4(2).int4(0).int4(0).int4(st.serverLifetime().toSeconds())
                        .text("statement").nul().int4(0).int4(0).int4(0).int4(console.sessions.size())
                        .int4(0).int4(0);
                continue;
            }
            DatabaseConfig d = dbs.get(name);
            int servers = 0;
            for (ShardSnapshot snap : snaps) {
                if (snap.pool().config().database().equals(name)) {
                    servers += liveServers(snap);
                }
            }
            String hosts = d.hosts().isEmpty() ? null : String.join(",", d.hosts());
            w.row().text(name).text(hosts).int4(d.port()).text(d.effectiveDbname()).text(d.user())
                    .int4(or(d.poolSize(), st.defaultPoolSize())).int4(or(d.minPoolSize(), st.minPoolSize()))
                    .int4(or(d.reservePoolSize(), st.reservePoolSize())).int4((d.serverLifetime() != null ? d.serverLifetime() : st.serverLifetime()).toSeconds())
                    .text(d.poolMode() == null ? null : d.poolMode().toString().toLowerCase(Locale.ROOT))
                    .text(loadBalance(d)).int4(or(d.maxDbConnections(), st.maxDbConnections())).int4(servers)
                    .int4(console.pools().maxDbClientConnections(name)).int4(console.pools().databaseClients(name))
                    .int4(console.pools().databasePaused(name) ? 1 : 0)
                    .int4(console.pools().disabled(name) ? 1 : 0);
        }
        done(w, reply);
    }

    private static String loadBalance(DatabaseConfig d) {
        if (d.hosts().size() < 2) {
            return null;
        }
        String v = d.raw().get("load_balance_hosts");
        return v == null ? "round-robin" : v;
    }

    private static int or(Integer v, int fallback) {
        return v != null ? v : fallback;
    }

    private static int liveServers(ShardSnapshot snap) {
        int n = 0;
        for (ServerState st : ServerState.values()) {
            if (st != ServerState.CLOSED && st != ServerState.CLOSING) {
                n += snap.servers(st);
            }
        }
        return n;
    }

    private static int liveClients(ShardSnapshot snap) {
        return snap.clients(ClientState.ACTIVE) + snap.clients(ClientState.IDLE) + snap.clients(ClientState.WAITING);
    }

    private void users(AdminSession s, List<ShardSnapshot> snaps, Console.Reply reply) {
        Config c = console.config();
        Settings st = c.settings();
        TreeSet<String> names = new TreeSet<>(c.users().keySet());
        names.add("pgbouncer");
        if (console.pools().authFile() != null) {
            names.addAll(console.pools().authFile().users());
        }
        ResultWriter w = writer(s, List.of(text("name"), text("pool_size"), text("reserve_pool_size"),
                text("pool_mode"), int4("max_user_connections"), int4("current_connections"),
                int4("max_user_client_connections"), int4("current_client_connections")));
        for (String name : names) {
            UserConfig u = c.users().get(name);
            int servers = 0;
            for (ShardSnapshot snap : snaps) {
                if (snap.pool().config().serverUser().equals(name)) {
                    servers += liveServers(snap);
                }
            }
            Integer maxUser = u == null ? null : u.maxUserConnections();
            w.row().text(name).text(padded(u == null ? null : u.poolSize()))
                    .text(padded(u == null ? null : u.reservePoolSize()))
                    .text(u == null || u.poolMode() == null ? null : u.poolMode().toString().toLowerCase(Locale.ROOT))
                    .int4(maxUser != null && maxUser > 0 ? maxUser : st.maxUserConnections()).int4(servers)
                    .int4(console.pools().maxUserClientConnections(name)).int4(console.pools().userClients(name));
        }
        done(w, reply);
    }

    /** PgBouncer's {@code %9d} for a user's own setting, "" when the user has none. */
    private static String padded(Integer v) {
        return v == null ? "" : String.format(Locale.ROOT, "%9d", v);
    }

    private void pools(AdminSession s, List<ShardSnapshot> snaps, Console.Reply reply) {
        ResultWriter w = writer(s, List.of(text("database"), text("user"), int4("cl_active"), int4("cl_waiting"),
                int4("cl_active_cancel_req"), int4("cl_waiting_cancel_req"), int4("sv_active"),
                int4("sv_active_cancel"), int4("sv_being_canceled"), int4("sv_idle"), int4("sv_used"),
                int4("sv_tested"), int4("sv_login"), int4("maxwait"), int4("maxwait_us"), text("pool_mode"),
                text("load_balance_hosts")));
        long now = System.nanoTime();
        boolean consoleDone = false;
        for (List<ShardSnapshot> pool : byPool(snaps)) {
            PoolConfig pc = pool.get(0).pool().config();
            if (!consoleDone && "pgbouncer".compareTo(pc.database()) < 0) {
                consolePool(w);
                consoleDone = true;
            }
            int[] c = new int[ClientState.values().length];
            int[] v = new int[ServerState.values().length];
            long oldest = 0;
            for (ShardSnapshot snap : pool) {
                for (int i = 0; i < c.length; i++) {
                    c[i] += snap.clients()[i];
                }
                for (int i = 0; i < v.length; i++) {
                    v[i] += snap.servers()[i];
                }
                if (snap.oldestWaitNanos() != 0 && (oldest == 0 || snap.oldestWaitNanos() - oldest < 0)) {
                    oldest = snap.oldestWaitNanos();
                }
            }
            long waitMicros = oldest == 0 ? 0 : (now - oldest) / 1000;
            DatabaseConfig d = console.config().database(pc.database()).orElse(null);
            w.row().text(pc.database()).text(pc.serverUser())
                    .int4(c[ClientState.ACTIVE.ordinal()] + c[ClientState.IDLE.ordinal()])
                    .int4(c[ClientState.WAITING.ordinal()]).int4(0).int4(0)
                    .int4(v[ServerState.ACTIVE.ordinal()]).int4(0).int4(v[ServerState.CANCELING.ordinal()])
                    .int4(v[ServerState.IDLE.ordinal()]).int4(0).int4(v[ServerState.RESET.ordinal()])
                    .int4(v[ServerState.LOGIN.ordinal()]).int4(waitMicros / 1_000_000).int4(waitMicros % 1_000_000)
                    .text(pc.poolMode().toString().toLowerCase(Locale.ROOT))
                    .text(d == null ? null : loadBalance(d));
        }
        if (!consoleDone) {
            consolePool(w);
        }
        done(w, reply);
    }

    /** The console's own pool row, as PgBouncer lists pgbouncer/pgbouncer. */
    private void consolePool(ResultWriter w) {
        w.row().text("pgbouncer").text("pgbouncer").int4(console.sessions.size()).int4(0).int4(0).int4(0)
                .int4(0).int4(0).int4(0).int4(0).int4(0).int4(0).int4(0).int4(0).int4(0).text("statement").nul();
    }

    /** The snapshots grouped by pool, pools in PgBouncer's order (database, then user). */
    private static List<List<ShardSnapshot>> byPool(List<ShardSnapshot> snaps) {
        TreeMap<String, List<ShardSnapshot>> m = new TreeMap<>();
        for (ShardSnapshot snap : snaps) {
            PoolConfig pc = snap.pool().config();
            m.computeIfAbsent(pc.database() + '\0' + pc.serverUser(), k -> new ArrayList<>()).add(snap);
        }
        for (List<ShardSnapshot> l : m.values()) {
            l.sort(Comparator.comparingInt(ShardSnapshot::loop));
        }
        return new ArrayList<>(m.values());
    }

    // ---- CLIENTS, SERVERS, SOCKETS, LISTS ----

    private void connections(AdminSession s, List<ShardSnapshot> snaps, boolean clients, boolean servers,
            boolean sockets, Console.Reply reply) {
        List<Column> cols = new ArrayList<>(List.of(text("type"), text("user"), text("database"), text("replication"),
                text("state"), text("addr"), int4("port"), text("local_addr"), int4("local_port"),
                text("connect_time"), text("request_time"), int4("wait"), int4("wait_us"), int4("close_needed"),
                text("ptr"), text("link"), int4("remote_pid"), text("tls"), text("application_name"),
                int4("prepared_statements"), int4("id")));
        if (sockets) {
            for (String n : new String[] {"recv_pos", "pkt_pos", "pkt_remain", "send_pos", "send_remain",
                "pkt_avail", "send_avail"}) {
                cols.add(int4(n));
            }
        }
        ResultWriter w = writer(s, cols);
        int port = console.operator().listenPort();
        boolean consoleDone = false;
        for (List<ShardSnapshot> pool : byPool(snaps)) {
            if (clients && !consoleDone && "pgbouncer".compareTo(pool.get(0).pool().config().database()) < 0) {
                consoleRows(w, sockets, port);
                consoleDone = true;
            }
            if (clients) {
                for (ShardSnapshot snap : pool) {
                    for (ConnectionRow r : snap.clientRows()) {
                        row(w, "C", r, sockets ? socketState(r.state(), true) : r.state(), false, sockets, port);
                    }
                }
            }
            if (servers) {
                for (ShardSnapshot snap : pool) {
                    for (ConnectionRow r : snap.serverRows()) {
                        row(w, "S", r, sockets ? socketState(r.state(), false) : r.state(), r.closeNeeded(),
                                sockets, port);
                    }
                }
            }
        }
        if (clients && !consoleDone) {
            consoleRows(w, sockets, port);
        }
        done(w, reply);
    }

    private static String socketState(String state, boolean client) {
        if (client) {
            return state.equals("waiting") ? "cl_waiting" : "cl_active";
        }
        return switch (state) {
            case "new" -> "sv_login";
            case "tested" -> "sv_tested";
            case "idle" -> "sv_idle";
            default -> "sv_active";
        };
    }

    private void consoleRows(ResultWriter w, boolean sockets, int port) {
        List<AdminSession> all = new ArrayList<>(console.sessions);
        all.sort(Comparator.comparingLong(AdminSession::id));
        for (AdminSession a : all) {
            ConnectionRow r = new ConnectionRow(a.id(), a.user(), "pgbouncer", "idle", a.channel().remoteAddress(),
                    a.channel().localAddress(), a.connectMillis(), a.connectMillis(), 0, 0, 0, a.applicationName(), 0, false,
                    io.sluice.pool.TlsInfo.of(a.channel()));
            row(w, "C", r, sockets ? "cl_active" : "idle", false, sockets, port);
        }
    }

    private static void row(ResultWriter w, String type, ConnectionRow r, String state, boolean closeNeeded,
            boolean sockets, int listenPort) {
        String ptr = type + "-" + r.id();
        String link = r.link() == 0 ? "" : (type.equals("C") ? "S-" : "C-") + r.link();
        w.row().text(type).text(r.user()).text(r.database()).text("none").text(state)
                .text(addr(r.remote())).int4(port(r.remote(), listenPort)).text(addr(r.local()))
                .int4(port(r.local(), listenPort)).text(time(r.connectMillis())).text(time(r.requestMillis()))
                .int4(r.waitMicros() / 1_000_000).int4(r.waitMicros() % 1_000_000).int4(closeNeeded ? 1 : 0)
                .text(ptr).text(link).int4(r.remotePid()).text(r.tls()).text(r.applicationName())
                .int4(r.preparedStatements()).int4(r.id());
        if (sockets) {
            // Sluice keeps no per-socket parse or send buffers: PgBouncer's positions in them are 0.
            w.int4(0).int4(0).int4(0).int4(0).int4(0).int4(0).int4(0);
        }
    }

    private static String addr(SocketAddress a) {
        if (a instanceof InetSocketAddress i) {
            return i.getAddress() == null ? i.getHostString() : i.getAddress().getHostAddress();
        }
        return "unix";
    }

    private static int port(SocketAddress a, int listenPort) {
        return a instanceof InetSocketAddress i ? i.getPort() : listenPort;
    }

    static String time(long millis) {
        return TIME.format(Instant.ofEpochMilli(millis).atZone(ZoneId.systemDefault()));
    }

    private void lists(AdminSession s, List<ShardSnapshot> snaps, Console.Reply reply) {
        Config c = console.config();
        TreeSet<String> users = new TreeSet<>(c.users().keySet());
        users.add("pgbouncer");
        if (console.pools().authFile() != null) {
            users.addAll(console.pools().authFile().users());
        }
        int loggedIn = console.sessions.size();
        int servers = 0;
        for (ShardSnapshot snap : snaps) {
            loggedIn += liveClients(snap);
            servers += liveServers(snap);
        }
        int all = console.operator().clientConnections();
        int pools = byPool(snaps).size() + 1;
        ResultWriter w = writer(s, List.of(text("list"), int4("items")));
        w.row().text("databases").int4(c.databases().size() + 1);
        w.row().text("users").int4(users.size());
        w.row().text("peers").int4(0);
        w.row().text("pools").int4(pools);
        w.row().text("peer_pools").int4(0);
        // No object pools (slabs) in Sluice: nothing is kept free; "used" is what exists.
        w.row().text("free_clients").int4(0);
        w.row().text("used_clients").int4(all);
        w.row().text("login_clients").int4(Math.max(0, all - loggedIn));
        w.row().text("free_servers").int4(0);
        w.row().text("used_servers").int4(servers);
        // Host names are resolved by the JVM, whose cache is not visible: no DNS lists.
        w.row().text("dns_names").int4(0);
        w.row().text("dns_zones").int4(0);
        w.row().text("dns_queries").int4(0);
        w.row().text("dns_pending").int4(0);
        done(w, reply);
    }

    // ---- cross-loop helpers for the controls ----

    /** KILL_CLIENT: disconnects the pool client with {@code id}, wherever it is; tells {@code found} on s's loop. */
    void killClient(long id, AdminSession s, Consumer<Boolean> found) {
        boolean[] hit = {false};
        console.pools().forEachShard(shard -> {
            for (ClientState st : new ClientState[] {ClientState.ACTIVE, ClientState.WAITING, ClientState.IDLE}) {
                shard.forEachClient(st, n -> {
                    if (n.client().id() == id) {
                        synchronized (hit) {
                            hit[0] = true;
                        }
                        n.client().disconnect(io.sluice.protocol.SqlState.PROTOCOL_VIOLATION, "admin forced disconnect");
                    }
                });
            }
        }, s.channel().eventLoop(), () -> {
            boolean h;
            synchronized (hit) {
                h = hit[0];
            }
            found.accept(h);
        });
    }

    /** WAIT_CLOSE: runs {@code then} once no server of {@code db} (null: any) is waiting to be replaced. */
    void whenNoServersToReplace(String db, AdminSession s, Runnable then) {
        console.pools().snapshot(false, s.channel().eventLoop(), snaps -> {
            int n = 0;
            for (ShardSnapshot snap : snaps) {
                if (db == null || db.equals(snap.pool().config().database())) {
                    n += snap.toReplace();
                }
            }
            if (n == 0) {
                then.run();
            } else if (s.channel().isActive()) {
                s.channel().eventLoop().schedule(() -> whenNoServersToReplace(db, s, then), 50,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        });
    }
}
