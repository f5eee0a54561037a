package io.sluice.config;

import java.nio.file.Path;

/**
 * A config file that Sluice refuses to run with; the message says where:
 * {@code FILE:LINE: KEY: problem}, or {@code FILE: problem} when no line is to blame.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final int line;
    private final String key;

    /** A problem with one line of a file; {@code key} may be null for syntax errors. */
    public ConfigException(Path file, int line, String key, String problem) {
        super(format(file, line, key, problem));
        this.file = file;
        this.line = line;
        this.key = key;
    }

    /** A problem with a whole file (unreadable, a section missing). */
    public ConfigException(Path file, String problem) {
        this(file, 0, null, problem);
    }

    private static String format(Path file, int line, String key, String problem) {
        StringBuilder sb = new StringBuilder().append(file);
        if (line > 0) {
            sb.append(':').append(line);
        }
        sb.append(": ");
        if (key != null) {
            sb.append(key).append(": ");
        }
        return sb.append(problem).toString();
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }

    /** The line at fault, 1-based; 0 when the problem is not on one line. */
    public int line() {
        return line;
    }

    /** The key (setting, database or user name) at fault, or null. */
    public String key() {
        return key;
    }
}
