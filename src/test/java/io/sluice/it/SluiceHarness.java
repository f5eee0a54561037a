package io.sluice.it;

import io.sluice.config.Config;
import io.sluice.server.Sluice;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * A Sluice started in-process for one test class, in front of {@link TestPostgres}, from a
 * pgbouncer.ini written the way a user would write it. {@code ${PG_PORT}} in the text is the
 * PostgreSQL port.
 */
public final class SluiceHarness implements AutoCloseable {
    /** userlist.txt for the roles TestPostgres creates, plaintext secrets. */
    public static final String USERLIST = String.join("\n",
            "\"postgres\" \"\"",
            "\"md5user\" \"md5pass\"",
            "\"scramuser\" \"scrampass\"",
            "\"plainuser\" \"plainpass\"", "");

    private final Path dir;
    private final Sluice sluice;
    private final int port;

    private SluiceHarness(Path dir, Sluice sluice, int port) {
        this.dir = dir;
        this.sluice = sluice;
        this.port = port;
    }

    /**
     * Starts Sluice. {@code databases} and {@code settings} are the bodies of [databases] and
     * [pgbouncer]; listen_port, listen_addr, unix_socket_dir and auth_file are added.
     */
    public static SluiceHarness start(String databases, String settings, String userlist) {
        return start(databases, settings, userlist, 2);
    }

    /** As above, with {@code threads} event loops (one makes every client share one loop's servers). */
    public static SluiceHarness start(String databases, String settings, String userlist, int threads) {
        // Clients spread over the loops from the first one (not packed): the tests mean to
        // exercise servers and waiters on more than one loop.
        return start(databases, settings, userlist, threads, 1);
    }

    /**
     * The socket transport the integration tests run on: Sluice's default unless the build sets
     * {@code sluice.test.transport} (the failsafe runs pass both auto and epoll).
     */
    public static String transport() {
        return System.getProperty("sluice.test.transport", "auto");
    }

    /** As above; {@code packClients} as Sluice's --pack-clients. */
    public static SluiceHarness start(String databases, String settings, String userlist, int threads,
            int packClients) {
        return start(databases, settings, userlist, threads, packClients, 0, transport());
    }

    /** As above; {@code packCpu} as Sluice's --pack-cpu (0: clients placed by count only). */
    public static SluiceHarness start(String databases, String settings, String userlist, int threads,
            int packClients, int packCpu) {
        return start(databases, settings, userlist, threads, packClients, packCpu, transport());
    }

    /** As above, on the socket transport named (see Sluice's --transport). */
    public static SluiceHarness start(String databases, String settings, String userlist, int threads,
            int packClients, String transport) {
        return start(databases, settings, userlist, threads, packClients, 0, transport);
    }

    /** As above, with {@code packCpu} as Sluice's --pack-cpu. */
    public static SluiceHarness start(String databases, String settings, String userlist, int threads,
            int packClients, int packCpu, String transport) {
        try {
            Path dir = Files.createTempDirectory("sluice-it");
            Files.writeString(dir.resolve("userlist.txt"), userlist);
            int port = freePort();
            // TestPostgres is started only for a config that names it: FaultsIT runs its own.
            String dbs = databases.contains("${PG_PORT}")
                    ? databases.replace("${PG_PORT}", String.valueOf(TestPostgres.port())) : databases;
            String ini = "[databases]\n" + dbs
                    + "\n\n[pgbouncer]\n"
                    + "listen_addr = 127.0.0.1\n"
                    + "listen_port = " + port + "\n"
                    + "unix_socket_dir = " + dir + "\n"
                    + "auth_file = userlist.txt\n"
                    + settings + "\n";
            Path file = dir.resolve("pgbouncer.ini");
            Files.writeString(file, ini);
            return new SluiceHarness(dir, Sluice.start(Config.load(file), threads, packClients, packCpu, transport), port);
        } catch (Exception e) {
            throw new IllegalStateException("Sluice did not start: " + e.getMessage(), e);
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    public int port() {
        return port;
    }

    public Sluice sluice() {
        return sluice;
    }

    public Path socketDir() {
        return dir;
    }

    public Connection connect(String database, String user, String password) throws SQLException {
        return connect(database, user, password, new Properties());
    }

    public Connection connect(String database, String user, String password, Properties extra) throws SQLException {
        Properties p = new Properties();
        p.putAll(extra);
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.putIfAbsent("connectTimeout", "20");
        p.putIfAbsent("socketTimeout", "60");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, p);
    }

    /** The first column of the first row of {@code sql}, as text. */
    public static String scalar(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Runs psql (the real client) with the given arguments; returns exit code and output. */
    public static PsqlResult psql(String... args) throws IOException, InterruptedException {
        return run("psql", args);
    }

    /** One simulated client's work, by its number. */
    @FunctionalInterface
    public interface ClientTask {
        void run(int id) throws Exception;
    }

    /**
     * Runs {@code task} for clients 0..n-1, each on its own thread, all at once; waits for all
     * of them (at most {@code timeoutSeconds}) and rethrows the first failure.
     */
    public static void concurrently(int n, int timeoutSeconds, ClientTask task) throws Exception {
        java.util.concurrent.ExecutorService ex = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            List<java.util.concurrent.Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int id = i;
                futures.add(ex.submit(() -> {
                    task.run(id);
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : futures) {
                f.get(timeoutSeconds, TimeUnit.SECONDS);
            }
        } finally {
            ex.shutdownNow();
        }
    }

    /** Runs a PostgreSQL client program (psql, pgbench) and returns exit code and output. */
    public static PsqlResult run(String program, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary(program));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGCONNECT_TIMEOUT", "10");
        pb.environment().remove("PGPASSWORD");
        Process p = pb.start();
        p.getOutputStream().close();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(program + " did not finish in 120 s: " + cmd);
        }
        return new PsqlResult(p.exitValue(), new String(p.getInputStream().readAllBytes()).trim());
    }

    /** Exit code and combined output of a psql run. */
    public record PsqlResult(int exitCode, String output) {
    }

    static String binary(String program) {
        File[] versions = new File("/usr/lib/postgresql").listFiles();
        if (versions != null) {
            for (File v : versions) {
                File f = new File(v, "bin/" + program);
                if (f.canExecute()) {
                    return f.getPath();
                }
            }
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, program))) {
                return Path.of(d, program).toString();
            }
        }
        throw new IllegalStateException(program + " not found: install postgresql-client (.ci/run does)");
    }

    @Override
    public void close() {
        sluice.close();
        try (var files = Files.walk(dir)) {
            files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
