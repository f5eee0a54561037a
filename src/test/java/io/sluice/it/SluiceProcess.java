package io.sluice.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sluice run as a user runs it, {@code bin/sluice pgbouncer.ini} in a process of its own, for the
 * tests that measure what only a process shows: its resident memory, its heap after a GC, its
 * log file, its file descriptor limit. Needs {@code target/sluice.jar}, which the build packages
 * before the integration tests run.
 */
final class SluiceProcess implements AutoCloseable {
    private final Process process;
    private final Path dir;
    private final Path log;
    private final int port;

    private SluiceProcess(Process process, Path dir, Path log, int port) {
        this.process = process;
        this.dir = dir;
        this.log = log;
        this.port = port;
    }

    /**
     * Starts Sluice with [databases] and [pgbouncer] bodies as {@link SluiceHarness#start} takes
     * them, on the transport the test run uses; {@code maxFiles} &gt; 0 sets its open-file limit.
     */
    static SluiceProcess start(String databases, String settings, int maxFiles) throws Exception {
        return start(databases, settings, maxFiles, null);
    }

    /** As above, with {@code javaOpts} in place of bin/sluice's JVM flags when not null. */
    static SluiceProcess start(String databases, String settings, int maxFiles, String javaOpts) throws Exception {
        return start(databases, settings, maxFiles, javaOpts, "");
    }

    /**
     * As above; {@code shellPrefix} runs in the launching shell first (e.g. {@code trap '' INT;}
     * to start Sluice with SIGINT ignored, as a job started in the background is).
     */
    static SluiceProcess start(String databases, String settings, int maxFiles, String javaOpts, String shellPrefix)
            throws Exception {
        Path dir = Files.createTempDirectory("sluice-proc");
        Files.writeString(dir.resolve("userlist.txt"), SluiceHarness.USERLIST);
        int port = SluiceHarness.freePort();
        Files.writeString(dir.resolve("pgbouncer.ini"), "[databases]\n"
                + databases.replace("${PG_PORT}", String.valueOf(TestPostgres.port()))
                + "\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " + port
                + "\nunix_socket_dir =\nauth_file = userlist.txt\n" + settings.replace("${DIR}", dir.toString()) + "\n");
        Path log = dir.resolve("sluice.log");
        Path sluice = Path.of("bin/sluice").toAbsolutePath();
        String cmd = shellPrefix + (maxFiles > 0 ? "ulimit -n " + maxFiles + "; " : "") + "exec " + sluice
                + " --transport " + SluiceHarness.transport()
                + ("root".equals(System.getProperty("user.name")) ? " --allow-root " : " ")
                + dir.resolve("pgbouncer.ini");
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        if (javaOpts != null) {
            pb.environment().put("JAVA_OPTS", javaOpts);
        }
        Process p = pb.start();
        SluiceProcess s = new SluiceProcess(p, dir, log, port);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!s.log().contains("process up: Sluice")) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                String out = s.log();
                s.close();
                throw new IllegalStateException("Sluice did not start:\n" + out);
            }
            Thread.sleep(100);
        }
        return s;
    }

    /** The directory of its pgbouncer.ini, userlist.txt and log ({@code ${DIR}} in settings). */
    Path dir() {
        return dir;
    }

    Process process() {
        return process;
    }

    int port() {
        return port;
    }

    long pid() {
        return process.pid();
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    long logBytes() throws IOException {
        return Files.size(log);
    }

    /** Resident memory, in MB. */
    long rssMb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        }
        throw new IllegalStateException("no VmRSS for " + process.pid());
    }

    /** Heap in use after a full GC, in MB (jcmd GC.run, then GC.heap_info). */
    long heapAfterGcMb() throws Exception {
        jcmd("GC.run");
        Matcher m = Pattern.compile("used (\\d+)K").matcher(jcmd("GC.heap_info"));
        if (!m.find()) {
            throw new IllegalStateException("no heap figure from jcmd");
        }
        return Long.parseLong(m.group(1)) / 1024;
    }

    private String jcmd(String command) throws Exception {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        List<String> cmd = new ArrayList<>(List.of(Files.isExecutable(jcmd) ? jcmd.toString() : "jcmd",
                String.valueOf(process.pid()), command));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("jcmd " + command + " failed: " + out);
        }
        return out;
    }

    /** Lines of the log that contain {@code text}. */
    long logLines(String text) throws IOException {
        return log().lines().filter(l -> l.contains(text)).count();
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (var files = Files.walk(dir)) {
            files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temporary directory left behind
        }
    }
}
