package io.sluice.server;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * PgBouncer's signals on the JVM: SIGHUP reloads, SIGTERM shuts down once clients are done,
 * SIGINT once servers are released, a second SIGTERM or SIGINT (or SIGQUIT) at once, SIGUSR1
 * pauses and SIGUSR2 resumes.
 *
 * <p>sun.misc.Signal (module jdk.unsupported) is the only way a JVM program can handle signals;
 * it is kept for exactly this use. Two need the launcher's help, which bin/sluice gives:
 * HotSpot suspends threads with SIGUSR2 unless {@code _JAVA_SR_SIGNUM} moves that elsewhere, and
 * a signal ignored when the JVM started (SIGINT for a job started in the background) cannot be
 * handled, so the launcher restores its default first. SIGQUIT is HotSpot's thread dump unless
 * the JVM runs with -Xrs (which would take SIGHUP, SIGINT and SIGTERM away instead): Sluice
 * leaves it to the JVM, and docs/admin.md says to use jcmd for a thread dump and SIGTERM twice,
 * or SIGINT twice, to stop at once.
 */
final class Signals {
    private static final Logger log = LoggerFactory.getLogger(Signals.class);

    /** What a signal asks of the running pooler. */
    interface Actions {
        void reload();

        void shutdownWaitForClients();

        void shutdownWaitForServers();

        void shutdownNow();

        void pause();

        void resume();

        /** True once a shutdown has begun (a second SIGTERM or SIGINT then stops at once). */
        boolean shuttingDown();
    }

    private Signals() {
    }

    /** Installs the handlers; returns the signals that could not be had, for the log. */
    static List<String> install(Actions actions) {
        List<String> missing = new ArrayList<>();
        handle("HUP", missing, () -> {
            log.info("got SIGHUP, reloading config");
            actions.reload();
        });
        handle("TERM", missing, () -> {
            if (actions.shuttingDown()) {
                log.info("got SIGTERM while shutting down, fast exit");
                actions.shutdownNow();
            } else {
                log.info("got SIGTERM, shutting down, waiting for all clients to disconnect");
                actions.shutdownWaitForClients();
            }
        });
        handle("INT", missing, () -> {
            if (actions.shuttingDown()) {
                log.info("got SIGINT while shutting down, fast exit");
                actions.shutdownNow();
            } else {
                log.info("got SIGINT, shutting down, waiting for all servers connections to be released");
                actions.shutdownWaitForServers();
            }
        });
        handle("USR1", missing, () -> {
            log.info("got SIGUSR1, pausing all activity");
            actions.pause();
        });
        handle("USR2", missing, () -> {
            log.info("got SIGUSR2, continuing");
            actions.resume();
        });
        return missing;
    }

    private static void handle(String name, List<String> missing, Runnable action) {
        try {
            Signal.handle(new Signal(name), s -> {
                // On the JVM's signal thread: the actions hand their work to the event loops.
                try {
                    action.run();
                } catch (RuntimeException e) {
                    log.error("handling SIG{}", name, e);
                }
            });
        } catch (IllegalArgumentException e) {
            missing.add("SIG" + name + " (" + e.getMessage() + ")");
        }
    }
}
