package io.sluice.quickstart;

import io.sluice.it.TestPostgres;
import io.sluice.server.Main;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The README's first command: a throwaway embedded PostgreSQL with Sluice in front of it on
 * 127.0.0.1:6432, so that {@code psql -h 127.0.0.1 -p 6432 -U postgres postgres} works at once.
 * Lives in test scope so the production jar never carries the embedded PostgreSQL.
 */
public final class QuickStart {
    private QuickStart() {
    }

    public static void main(String[] args) throws Exception {
        int pgPort = TestPostgres.port();
        Path dir = Path.of("target", "quickstart").toAbsolutePath();
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("userlist.txt"), "\"postgres\" \"\"\n");
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, String.join("\n",
                "; written by bin/quickstart: Sluice in front of a throwaway embedded PostgreSQL",
                "[databases]",
                "* = host=127.0.0.1 port=" + pgPort,
                "",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                "listen_port = " + System.getProperty("sluice.port", "6432"),
                "unix_socket_dir = " + dir,
                "auth_type = trust",
                "admin_users = postgres",
                "auth_file = userlist.txt",
                "pool_mode = session",
                "default_pool_size = 20",
                "max_client_conn = 1000",
                "ignore_startup_parameters = extra_float_digits",
                ""));
        System.err.println("Embedded PostgreSQL on 127.0.0.1:" + pgPort + "; config " + ini);
        System.err.println("Connect with:  psql -h 127.0.0.1 -p 6432 -U postgres postgres   (Ctrl-C stops)");
        System.err.println("Admin console: psql -h 127.0.0.1 -p 6432 -U postgres pgbouncer -c 'SHOW POOLS'");
        // A throwaway setup, often in a container where everything runs as root: allowed here.
        boolean root = "root".equals(System.getProperty("user.name"));
        try {
            Main.main(root ? new String[] {"--allow-root", ini.toString()} : new String[] {ini.toString()});
        } finally {
            // Sluice handles Ctrl-C itself now (a shutdown, then main returns): the embedded
            // PostgreSQL is stopped here rather than left to a JVM shutdown hook.
            TestPostgres.get().close();
        }
    }
}
