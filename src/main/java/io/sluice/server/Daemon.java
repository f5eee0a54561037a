package io.sluice.server;

import io.sluice.config.Config;
import io.sluice.config.ConfigException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code -d}: runs Sluice in the background, as PgBouncer's -d does for service scripts. A JVM
 * cannot fork, so this one starts the same command again without -d, in a session of its own
 * (setsid) with its standard streams on /dev/null, and returns once the new process has written
 * the pidfile (0) or has exited (its status).
 */
final class Daemon {
    private static final long WAIT_SECONDS = 30;

    private Daemon() {
    }

    static int start(Path configFile) throws IOException, InterruptedException {
        Path pidfile;
        try {
            pidfile = Config.load(configFile).settings().pidfile();
        } catch (ConfigException e) {
            System.err.println("sluice: configuration error: " + e.getMessage());
            return 2;
        }
        if (pidfile == null) {
            System.err.println("sluice: daemon needs pidfile configured");
            return 1;
        }
        List<String> self = commandLine();
        if (self.isEmpty()) {
            System.err.println("sluice: -d: cannot read this process's command line to start it again");
            return 1;
        }
        List<String> cmd = new ArrayList<>();
        if (new File("/usr/bin/setsid").canExecute()) {
            cmd.add("/usr/bin/setsid");
        }
        for (String a : self) {
            if (!a.equals("-d") && !a.equals("--daemon")) {
                cmd.add(a);
            }
        }
        Process child = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (System.nanoTime() < deadline) {
            if (!child.isAlive()) {
                System.err.println("sluice: the background process exited with status " + child.exitValue()
                        + "; see the logfile");
                return child.exitValue() == 0 ? 1 : child.exitValue();
            }
            if (Files.exists(pidfile)) {
                String pid = Files.readString(pidfile, StandardCharsets.US_ASCII).strip();
                if (!pid.isEmpty() && ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false)
                        && !pid.equals(Long.toString(ProcessHandle.current().pid()))) {
                    return 0;
                }
            }
            Thread.sleep(100);
        }
        System.err.println("sluice: the background process did not write " + pidfile + " within " + WAIT_SECONDS + " s");
        return 1;
    }

    /**
     * This JVM's command line, java first. /proc/self/cmdline is whole where ProcessHandle's
     * view of the arguments may be missing (it was, for a long class path).
     */
    private static List<String> commandLine() throws IOException {
        Path proc = Path.of("/proc/self/cmdline");
        if (Files.isReadable(proc)) {
            String all = new String(Files.readAllBytes(proc), StandardCharsets.UTF_8);
            List<String> out = new ArrayList<>(List.of(all.split("\0")));
            out.removeIf(String::isEmpty);
            if (!out.isEmpty()) {
                return out;
            }
        }
        ProcessHandle.Info info = ProcessHandle.current().info();
        List<String> out = new ArrayList<>();
        if (info.command().isPresent() && info.arguments().isPresent()) {
            out.add(info.command().get());
            out.addAll(List.of(info.arguments().get()));
        }
        return out;
    }
}
