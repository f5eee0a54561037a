package io.sluice.admin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.sluice.config.AuthType;
import io.sluice.config.Config;
import io.sluice.metrics.Counters;
import io.sluice.metrics.PoolCounters;
import io.sluice.metrics.StatsWindow;
import io.sluice.pool.PoolManager;
import io.sluice.protocol.PgWriter;
import io.sluice.session.ConsoleRoute;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin console: who may use it, its sessions, and each command, authorised on its own
 * (a stats user may SHOW and nothing else; CVE-2026-6667 was a KILL_CLIENT without that check).
 * SHOW commands live in {@link Shows}; this class runs the controls.
 */
public final class Console implements ConsoleRoute {
    private static final Logger log = LoggerFactory.getLogger(Console.class);
    /** How often a PAUSE or WAIT_CLOSE checks whether it is done. */
    private static final long POLL_MILLIS = 50;
    /** SHOW/SET parameters PgBouncer fakes so that drivers' start-up queries work. */
    static final Map<String, String> FAKE_PARAMETERS = Map.of("client_encoding", "UTF-8",
            "default_transaction_isolation", "read committed", "standard_conforming_strings", "on",
            "datestyle", "ISO", "timezone", "GMT");

    private final Operator operator;
    private final PoolManager pools;
    private final Counters counters;
    private final StatsWindow stats;
    private final Shows shows;
    /** Console sessions now, for SHOW CLIENTS and KILL_CLIENT. */
    final Set<AdminSession> sessions = ConcurrentHashMap.newKeySet();
    /** The console's own pool in the statistics, as PgBouncer's pgbouncer/pgbouncer pool. */
    final PoolCounters ownCounters;

    public Console(Operator operator, PoolManager pools, Counters counters, StatsWindow stats) {
        this.operator = operator;
        this.pools = pools;
        this.counters = counters;
        this.stats = stats;
        this.ownCounters = counters.pool("pgbouncer", "pgbouncer");
        this.shows = new Shows(this);
    }

    Operator operator() {
        return operator;
    }

    PoolManager pools() {
        return pools;
    }

    Counters counters() {
        return counters;
    }

    StatsWindow stats() {
        return stats;
    }

    Config config() {
        return pools.config();
    }

    // ---- ConsoleRoute ----

    @Override
    public boolean allows(String user) {
        Config c = config();
        return c.settings().authType() == AuthType.ANY || c.settings().adminUsers().contains(user)
                || c.settings().statsUsers().contains(user);
    }

    @Override
    public ChannelHandler open(long id, String user, String database, long connectMillis, String applicationName) {
        boolean admin = config().settings().adminUsers().contains(user);
        return new AdminSession(this, id, user, admin, connectMillis, applicationName);
    }

    void joined(AdminSession s) {
        sessions.add(s);
        ownCounters.clientLogin();
    }

    void left(AdminSession s) {
        sessions.remove(s);
    }

    boolean logConnections() {
        return config().settings().booleanValue("log_connections");
    }

    boolean logDisconnections() {
        return config().settings().booleanValue("log_disconnections");
    }

    /** The console's welcome, after AuthenticationOk: PgBouncer's ParameterStatus values. */
    void welcome(ByteBuf out) {
        PgWriter.parameterStatus(out, "server_version", Shows.PGBOUNCER_VERSION + "/bouncer");
        PgWriter.parameterStatus(out, "client_encoding", "UTF8");
        PgWriter.parameterStatus(out, "server_encoding", "UTF8");
        PgWriter.parameterStatus(out, "DateStyle", "ISO");
        PgWriter.parameterStatus(out, "TimeZone", "GMT");
        PgWriter.parameterStatus(out, "standard_conforming_strings", "on");
        PgWriter.parameterStatus(out, "is_superuser", "on");
    }

    // ---- commands ----

    /** Runs one command for {@code s}; {@code answer} gets the result on {@code s}'s loop. */
    void run(AdminSession s, String text, AdminSession.Answer answer) {
        ownCounters.request(1, 1, 0, 0, text.length() + 5, 0);
        Reply reply = new Reply(s, answer);
        try {
            AdminCommand cmd = AdminCommand.parse(text);
            dispatch(s, cmd, text, reply);
        } catch (AdminException e) {
            reply.error(e);
        } catch (RuntimeException e) {
            log.error("{} console command failed: {}", s.logId(), text, e);
            reply.error(new AdminException("command failed: " + e));
        }
    }

    private void dispatch(AdminSession s, AdminCommand cmd, String text, Reply reply) {
        switch (cmd.name()) {
            case "show", "select" -> {
                if (cmd.arg().isEmpty()) {
                    throw invalid(text);
                }
                shows.show(s, cmd.arg().toLowerCase(Locale.ROOT), text, reply);
            }
            case "set" -> set(s, cmd, reply);
            case "reload" -> {
                noArgument(cmd, text);
                requireAdmin(s);
                log.info("RELOAD command issued");
                String error = operator.reload();
                if (error != null) {
                    throw new AdminException("RELOAD failed, see logs for additional details", "F0000");
                }
                reply.tag("RELOAD");
            }
            case "shutdown" -> shutdown(s, cmd, text, reply);
            case "suspend" -> {
                noArgument(cmd, text);
                requireAdmin(s);
                throw new AdminException("SUSPEND is not supported by Sluice: it exists for online restart (-R),"
                        + " which Sluice does not do; restart with so_reuseport instead");
            }
            case "pause" -> pause(s, cmd, reply);
            case "resume" -> resume(s, cmd, reply);
            case "disable", "enable" -> {
                requireAdmin(s);
                String db = requireDatabase(cmd, cmd.name());
                log.info("{} '{}' command issued", cmd.name().toUpperCase(Locale.ROOT), db);
                if (cmd.name().equals("disable")) {
                    pools.disable(db);
                } else {
                    pools.enable(db);
                }
                reply.tag(cmd.name().toUpperCase(Locale.ROOT));
            }
            case "reconnect" -> {
                requireAdmin(s);
                String db = optionalDatabase(cmd, "reconnect");
                log.info(db == null ? "RECONNECT command issued" : "RECONNECT '{}' command issued", db);
                pools.reconnect(db);
                reply.tag("RECONNECT");
            }
            case "kill" -> {
                requireAdmin(s);
                if (pools.pausedAll()) {
                    throw new AdminException("already suspended/paused");
                }
                String db = optionalDatabase(cmd, "kill");
                log.info(db == null ? "KILL command issued" : "KILL '{}' command issued", db);
                pools.kill(db);
                reply.tag("KILL");
            }
            case "kill_client" -> killClient(s, cmd, reply);
            case "wait_close" -> {
                requireAdmin(s);
                String db = optionalDatabase(cmd, "wait in");
                log.info(db == null ? "WAIT_CLOSE command issued" : "WAIT_CLOSE '{}' command issued", db);
                shows.whenNoServersToReplace(db, s, () -> reply.tag("WAIT_CLOSE"));
            }
            default -> throw invalid(text);
        }
    }

    static AdminException invalid(String text) {
        return new AdminException("invalid command '" + text + "', use SHOW HELP;");
    }

    private static void noArgument(AdminCommand cmd, String text) {
        if (!cmd.arg().isEmpty()) {
            throw invalid(text);
        }
    }

    private static void requireAdmin(AdminSession s) {
        if (!s.admin()) {
            throw new AdminException("admin access needed");
        }
    }

    /** The database named by {@code cmd}, which must exist and not be the console's own. */
    private String requireDatabase(AdminCommand cmd, String verb) {
        if (cmd.arg().isEmpty()) {
            throw new AdminException("a database is required");
        }
        return optionalDatabase(cmd, verb);
    }

    private String optionalDatabase(AdminCommand cmd, String verb) {
        String db = cmd.arg();
        if (db.isEmpty()) {
            return null;
        }
        if (ConsoleRoute.isConsole(db)) {
            throw new AdminException("cannot " + verb + " admin db: " + db);
        }
        if (config().database(db).isEmpty()) {
            throw new AdminException("no such database: " + db);
        }
        return db;
    }

    /**
     * SETs drivers send at connect that the console ignores besides PgBouncer's fake parameters:
     * pgjdbc sends these two, and PgBouncer's console answers them "SET failed", so pgjdbc could
     * not use it. Ignored here, with PgBouncer's notice.
     */
    private static final Set<String> DRIVER_SETS = Set.of("extra_float_digits", "application_name");

    private void set(AdminSession s, AdminCommand cmd, Reply reply) {
        String key = cmd.arg();
        String lower = key.toLowerCase(Locale.ROOT);
        if (FAKE_PARAMETERS.containsKey(lower) || DRIVER_SETS.contains(lower)) {
            reply.noticeAndTag("SET ignored", "SET");
            return;
        }
        requireAdmin(s);
        String error = operator instanceof Settable set ? set.set(key, cmd.value()) : "SET is not available";
        if (error != null) {
            log.error("SET {} failed: {}", key, error);
            throw new AdminException("SET failed");
        }
        reply.tag("SET " + key + "=" + cmd.value());
    }

    /** An operator that can change one setting in place, as SET does (until the next RELOAD). */
    public interface Settable {
        /** Null on success, else why the value was refused (nothing then changes). */
        String set(String key, String value);
    }

    private void shutdown(AdminSession s, AdminCommand cmd, String text, Reply reply) {
        Operator.Shutdown mode;
        switch (cmd.arg().toLowerCase(Locale.ROOT)) {
            case "" -> mode = Operator.Shutdown.IMMEDIATE;
            case "wait_for_servers" -> mode = Operator.Shutdown.WAIT_FOR_SERVERS;
            case "wait_for_clients" -> mode = Operator.Shutdown.WAIT_FOR_CLIENTS;
            default -> throw invalid(text);
        }
        requireAdmin(s);
        log.info(mode == Operator.Shutdown.IMMEDIATE ? "SHUTDOWN command issued" : "SHUTDOWN {} command issued", mode);
        if (mode == Operator.Shutdown.IMMEDIATE) {
            // No reply, as in PgBouncer: the client sees the connection close with the process.
            reply.none();
            operator.shutdown(mode);
            return;
        }
        operator.shutdown(mode);
        reply.tag("SHUTDOWN");
    }

    private void pause(AdminSession s, AdminCommand cmd, Reply reply) {
        requireAdmin(s);
        if (pools.pausedAll()) {
            throw new AdminException("already suspended/paused");
        }
        String db = optionalDatabase(cmd, "pause");
        log.info(db == null ? "PAUSE command issued" : "PAUSE '{}' command issued", db);
        pools.pause(db);
        // Answered once every server of what was paused is closed: until then, queries still
        // running finish (in session mode, until their clients disconnect).
        whenDone(s, () -> serversOf(db) == 0, () -> reply.tag("PAUSE"));
    }

    private int serversOf(String db) {
        int n = 0;
        for (io.sluice.pool.Pool p : pools.pools()) {
            if (db == null || db.equals(p.config().database())) {
                n += p.serverCount();
            }
        }
        return n;
    }

    private void resume(AdminSession s, AdminCommand cmd, Reply reply) {
        requireAdmin(s);
        String db = cmd.arg();
        if (db.isEmpty()) {
            log.info("RESUME command issued");
            if (operator.shuttingDown()) {
                throw new AdminException("pooler is shutting down");
            }
            if (!pools.pausedAll()) {
                throw new AdminException("pooler is not paused/suspended");
            }
            pools.resume(null);
        } else {
            log.info("RESUME '{}' command issued", db);
            if (config().database(db).isEmpty()) {
                throw new AdminException("no such database: " + db);
            }
            if (!pools.databasePaused(db)) {
                throw new AdminException("database " + db + " is not paused");
            }
            pools.resume(db);
        }
        reply.tag("RESUME");
    }

    private void killClient(AdminSession s, AdminCommand cmd, Reply reply) {
        requireAdmin(s);
        long id;
        try {
            id = Long.parseLong(cmd.arg().replaceFirst("^([0-9]+).*$", "$1"));
        } catch (NumberFormatException e) {
            throw new AdminException("invalid client pointer supplied");
        }
        for (AdminSession other : sessions) {
            if (other.id() == id) {
                other.channel().eventLoop().execute(() -> other.fatal("admin forced disconnect"));
                reply.tag("KILL_CLIENT");
                return;
            }
        }
        shows.killClient(id, s, found -> {
            if (found) {
                reply.tag("KILL_CLIENT");
            } else {
                reply.error(new AdminException("client not found"));
            }
        });
    }

    /** Runs {@code then} on {@code s}'s loop once {@code done} holds, checking every POLL_MILLIS. */
    void whenDone(AdminSession s, BooleanSupplier done, Runnable then) {
        if (done.getAsBoolean()) {
            then.run();
            return;
        }
        s.channel().eventLoop().schedule(() -> {
            if (s.channel().isActive()) {
                whenDone(s, done, then);
            }
        }, POLL_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The answer to one command, given once, on the session's loop. */
    static final class Reply {
        private final AdminSession session;
        private final AdminSession.Answer answer;

        Reply(AdminSession session, AdminSession.Answer answer) {
            this.session = session;
            this.answer = answer;
        }

        AdminSession session() {
            return session;
        }

        /** A result already written with its CommandComplete. */
        void result(ByteBuf out) {
            onLoop(() -> answer.send(out, null));
        }

        void tag(String tag) {
            onLoop(() -> {
                ByteBuf out = session.channel().alloc().buffer();
                Shows.commandComplete(out, tag);
                answer.send(out, null);
            });
        }

        void noticeAndTag(String notice, String tag) {
            onLoop(() -> {
                ByteBuf out = session.channel().alloc().buffer();
                PgWriter.notice(out, io.sluice.protocol.BackendCodes.NOTICE_RESPONSE, "NOTICE", "00000", notice);
                Shows.commandComplete(out, tag);
                answer.send(out, null);
            });
        }

        void error(AdminException e) {
            onLoop(() -> answer.send(null, e));
        }

        /** No answer at all (SHUTDOWN): the session is left to close with the process. */
        void none() {
        }

        private void onLoop(Runnable r) {
            if (session.channel().eventLoop().inEventLoop()) {
                r.run();
            } else {
                session.channel().eventLoop().execute(r);
            }
        }
    }
}
