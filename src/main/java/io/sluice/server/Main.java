package io.sluice.server;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import io.sluice.admin.Operator;
import io.sluice.admin.SluiceVersion;
import io.sluice.config.Config;
import io.sluice.config.ConfigException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Command line entry point: {@code sluice [-v] pgbouncer.ini}. */
@Command(name = "sluice", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "PostgreSQL connection pooler, drop-in for PgBouncer: reads pgbouncer.ini and userlist.txt.")
public final class Main implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "CONFIG", description = "pgbouncer.ini style configuration file")
    private Path config;

    @Option(names = "--threads", paramLabel = "N",
            description = "event loops (default: one per CPU core)")
    private int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--pack-clients", paramLabel = "N",
            description = "clients an event loop takes before the next loop gets any (default: "
                    + Sluice.DEFAULT_PACK_CLIENTS + "; 1 spreads them evenly)")
    private int packClients = Sluice.DEFAULT_PACK_CLIENTS;

    @Option(names = "--pack-cpu", paramLabel = "PERCENT",
            description = "an event loop past --pack-clients keeps taking clients while it uses less than this "
                    + "share of a core (default: " + Sluice.DEFAULT_PACK_CPU + ", by count only; 75 saves CPU, "
                    + "see docs/pooling.md)")
    private int packCpu = Sluice.DEFAULT_PACK_CPU;

    @Option(names = "--transport", paramLabel = "NAME",
            description = "socket transport: auto (default: io_uring where the kernel allows it, else epoll, "
                    + "else nio), io_uring, epoll or nio")
    private String transport = "auto";

    @Option(names = {"-v", "--verbose"}, description = "more logging (-v debug, -vv trace)")
    private boolean[] verbose = new boolean[0];

    @Option(names = {"-q", "--quiet"}, description = "no logging to stderr (the logfile still gets it)")
    private boolean quiet;

    @Option(names = {"-d", "--daemon"}, description = "run in the background (needs pidfile), as PgBouncer's -d")
    private boolean daemon;

    @Option(names = {"-R", "--reboot"}, description = "online restart: not supported (see docs/admin.md)")
    private boolean reboot;

    @Option(names = {"-u", "--user"}, paramLabel = "USERNAME",
            description = "the user to run as: Sluice cannot switch users, so it must be started as USERNAME")
    private String user;

    @Option(names = "--allow-root", description = "run as root (refused by default, as PgBouncer does)")
    private boolean allowRoot;

    public static void main(String[] args) {
        // Before the first logger: the log line carries the pid, as PgBouncer's does.
        System.setProperty("sluice.pid", Long.toString(ProcessHandle.current().pid()));
        int rc = new CommandLine(new Main()).execute(args);
        if (rc != 0) {
            System.exit(rc);
        }
    }

    @Override
    public Integer call() throws Exception {
        LoggerContext logging = (LoggerContext) LoggerFactory.getILoggerFactory();
        if (verbose.length > 0) {
            logging.getLogger("io.sluice").setLevel(verbose.length > 1
                    ? ch.qos.logback.classic.Level.TRACE : ch.qos.logback.classic.Level.DEBUG);
        }
        Logger log = LoggerFactory.getLogger(Main.class);
        if (quiet || daemon) {
            logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).detachAppender("STDERR");
        }
        if (reboot) {
            System.err.println("sluice: online restart (-R) is not supported: PgBouncer deprecates it too; start the new"
                    + " instance with so_reuseport, or restart (see docs/admin.md)");
            return 1;
        }
        String me = System.getProperty("user.name");
        if (user != null && !user.equals(me)) {
            System.err.println("sluice: cannot switch to user " + user + " (a JVM cannot change its user): start Sluice as "
                    + user + ", e.g. with systemd's User= or runuser -u " + user);
            return 1;
        }
        if ("root".equals(me) && !allowRoot && !"root".equals(user)) {
            System.err.println("sluice: Sluice should not run as root (as PgBouncer refuses to); run it as its own user,"
                    + " or pass --allow-root");
            return 1;
        }
        if (!Transport.NAMES.contains(transport)) {
            System.err.println("sluice: unknown --transport '" + transport + "': use one of " + Transport.NAMES);
            return 2;
        }
        if (threads < 1 || packClients < 1 || packCpu < 0 || packCpu > 100) {
            System.err.println("sluice: --threads and --pack-clients take a number from 1, --pack-cpu one from 0 to 100");
            return 2;
        }
        if (daemon) {
            return Daemon.start(config);
        }
        Sluice sluice;
        FileAppender<ILoggingEvent>[] logfile = new FileAppender[1];
        try {
            Config loaded = Config.load(config);
            if (loaded.settings().logfile() != null) {
                logfile[0] = addFileLog(logging, loaded.settings().logfile());
            }
            sluice = Sluice.start(loaded, threads, packClients, packCpu, transport);
        } catch (ConfigException e) {
            // To the logfile as well, where the operator of a service looks first.
            Path file = Config.peekLogfile(config);
            if (file != null && logfile[0] == null) {
                logfile[0] = addFileLog(logging, file);
            }
            log.error("configuration error: {}", e.getMessage());
            if (quiet || daemon) {
                System.err.println("sluice: configuration error: " + e.getMessage());
            }
            return 2;
        } catch (StartException e) {
            log.error("{}", e.getMessage());
            if (quiet) {
                System.err.println("sluice: " + e.getMessage());
            }
            return 1;
        }
        sluice.onReload(() -> {
            // logrotate: the file is opened again, under the (possibly new) logfile name.
            Path file = sluice.config().settings().logfile();
            if (logfile[0] != null) {
                logfile[0].stop();
                logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).detachAppender(logfile[0]);
                logfile[0] = null;
            }
            if (file != null) {
                logfile[0] = addFileLog(logging, file);
            }
        });
        CountDownLatch stopped = new CountDownLatch(1);
        sluice.onExit(() -> {
            sluice.close();
            stopped.countDown();
        });
        // Other ways out (System.exit, a signal Sluice does not handle) still close cleanly.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (stopped.getCount() > 0) {
                log.info("shutting down");
                sluice.close();
            }
        }, "sluice-shutdown"));
        List<String> missing = Signals.install(new Signals.Actions() {
            @Override
            public void reload() {
                sluice.reload();
            }

            @Override
            public void shutdownWaitForClients() {
                sluice.shutdown(Operator.Shutdown.WAIT_FOR_CLIENTS);
            }

            @Override
            public void shutdownWaitForServers() {
                sluice.shutdown(Operator.Shutdown.WAIT_FOR_SERVERS);
            }

            @Override
            public void shutdownNow() {
                sluice.shutdown(Operator.Shutdown.IMMEDIATE);
            }

            @Override
            public void pause() {
                sluice.pauseAll();
            }

            @Override
            public void resume() {
                sluice.resumeAll();
            }

            @Override
            public boolean shuttingDown() {
                return sluice.shuttingDown();
            }
        });
        for (String m : missing) {
            log.warn("signal not handled: {}", m);
        }
        log.info("process up: Sluice {} (PgBouncer {} compatible), transport {}", Version.version(),
                "1.25.2", sluice.transportName());
        SystemdNotify.ready(log);
        stopped.await();
        return 0;
    }

    private static FileAppender<ILoggingEvent> addFileLog(LoggerContext logging, Path file) {
        PatternLayoutEncoder enc = new PatternLayoutEncoder();
        enc.setContext(logging);
        enc.setPattern("%d{yyyy-MM-dd HH:mm:ss.SSS z} [" + ProcessHandle.current().pid() + "] %pglevel %msg%n");
        enc.start();
        FileAppender<ILoggingEvent> app = new FileAppender<>();
        app.setContext(logging);
        app.setName("logfile");
        app.setFile(file.toString());
        app.setAppend(true);
        app.setEncoder(enc);
        app.start();
        logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(app);
        return app;
    }

    /** Sluice's version, as the build recorded it. */
    static final class Version implements CommandLine.IVersionProvider {
        static String version() {
            return SluiceVersion.VERSION;
        }

        @Override
        public String[] getVersion() {
            return new String[] {"Sluice " + version(), "PgBouncer-compatible: 1.25.2 (admin console, configuration)",
                "Netty " + io.netty.util.Version.identify().getOrDefault("netty-common",
                        io.netty.util.Version.identify().values().iterator().next()).artifactVersion(),
                "Java " + Runtime.version()};
        }
    }
}
