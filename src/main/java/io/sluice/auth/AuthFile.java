package io.sluice.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a PgBouncer auth_file (userlist.txt) into an immutable map of user to {@link Secret}.
 *
 * <p>Format, as PgBouncer's loader reads it: one {@code "user" "secret"} pair a line, text
 * after the secret ignored; inside quotes {@code ""} is a literal quote; a line whose first
 * non-blank character is {@code ;} is a comment ({@code #} is <em>not</em>: PgBouncer would
 * reject such a line, and so do we); blank lines are skipped. A user listed twice keeps
 * the later secret, as in PgBouncer. Unlike PgBouncer, which stops loading at the first
 * broken line and keeps the users before it, a broken line fails the whole load so that
 * start-up fails fast and a reload keeps the old file whole.
 */
public final class AuthFile {

    private final Map<String, Secret> secrets;

    private AuthFile(Map<String, Secret> secrets) {
        this.secrets = Collections.unmodifiableMap(secrets);
    }

    /** Reads and parses {@code path} (UTF-8). */
    public static AuthFile load(Path path) throws IOException, AuthFileException {
        return parse(Files.readString(path, StandardCharsets.UTF_8), path.toString());
    }

    /**
     * Parses auth_file text.
     *
     * @param sourceName the file name used in error messages
     */
    public static AuthFile parse(String text, String sourceName) throws AuthFileException {
        Map<String, Secret> secrets = new LinkedHashMap<>();
        if (text.startsWith("\uFEFF")) {
            // Editors on Windows add a byte-order mark; it is not part of the first user name.
            text = text.substring(1);
        }
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            parseLine(lines[i], sourceName, i + 1, secrets);
        }
        return new AuthFile(secrets);
    }

    /** The secret for {@code user}, if listed. */
    public Optional<Secret> secret(String user) {
        return Optional.ofNullable(secrets.get(user));
    }

    /** Every listed user, in file order. */
    public Set<String> users() {
        return secrets.keySet();
    }

    @Override
    public String toString() {
        return "AuthFile[" + secrets.size() + " users]";
    }

    private static void parseLine(String line, String source, int lineNo, Map<String, Secret> out)
            throws AuthFileException {
        int p = skipBlanks(line, 0);
        if (p == line.length() || line.charAt(p) == ';') {
            return;
        }
        if (line.charAt(p) != '"') {
            throw new AuthFileException(source, lineNo, "expected a quoted user name");
        }
        StringBuilder user = new StringBuilder();
        p = readQuoted(line, p + 1, user);
        if (p < 0) {
            throw new AuthFileException(source, lineNo, "unterminated quoted user name");
        }
        // PgBouncer skips anything up to the next quote before the secret.
        int open = line.indexOf('"', p);
        if (open < 0) {
            throw new AuthFileException(source, lineNo, "missing quoted secret for user \"" + user + "\"");
        }
        StringBuilder secret = new StringBuilder();
        if (readQuoted(line, open + 1, secret) < 0) {
            throw new AuthFileException(source, lineNo, "unterminated quoted secret for user \"" + user + "\"");
        }
        try {
            out.put(user.toString(), Secret.parse(secret.toString()));
        } catch (IllegalArgumentException e) {
            // Secret.parse's messages never contain the secret, so they can be passed on.
            throw new AuthFileException(source, lineNo, e.getMessage() + " for user \"" + user + "\"");
        }
    }

    /**
     * Reads a quoted field whose opening quote is just before {@code from} into {@code out}.
     * Returns the index after the closing quote, or -1 if the line ends first.
     */
    private static int readQuoted(String line, int from, StringBuilder out) {
        int p = from;
        while (p < line.length()) {
            char c = line.charAt(p);
            if (c == '"') {
                if (p + 1 < line.length() && line.charAt(p + 1) == '"') {
                    out.append('"');
                    p += 2;
                    continue;
                }
                return p + 1;
            }
            out.append(c);
            p++;
        }
        return -1;
    }

    private static int skipBlanks(String line, int p) {
        while (p < line.length() && Character.isWhitespace(line.charAt(p))) {
            p++;
        }
        return p;
    }
}
