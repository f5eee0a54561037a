package io.sluice.admin;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One console command as PgBouncer's grammar reads it: {@code WORD [ARG] [;]}, or
 * {@code SET key = value}. A word is {@code [0-9a-z_]+} (any case, kept as typed) or a quoted
 * {@code "..."} with {@code ""} for a quote; a SET value is a word or {@code '...'} with
 * {@code ''} for a quote. Anything else, several statements included, is an invalid command.
 *
 * @param name the command word, lower-cased (commands match in any case)
 * @param arg the argument as typed (unquoted), "" when none; for SET, the key
 * @param value for SET, the value (unquoted); null otherwise
 */
record AdminCommand(String name, String arg, String value) {
    private static final String WS0 = "[ \\t\\n\\r]*";
    private static final String WS1 = "[ \\t\\n\\r]+";
    private static final String WORD = "(\"(?:[^\"]|\"\")*\"|[0-9a-zA-Z_]+)";
    private static final String STRING = "('(?:[^']|'')*')";
    private static final Pattern NORMAL = Pattern.compile("^" + WS0 + WORD + "(?:" + WS1 + WORD + ")?" + WS0
            + "(?:;" + WS0 + ")?$");
    private static final Pattern SET = Pattern.compile("^" + WS0 + "(?i:set)" + WS1 + WORD + WS0 + "(?:=|(?i:to))"
            + WS0 + "(" + STRING.substring(1, STRING.length() - 1) + "|" + WORD.substring(1, WORD.length() - 1)
            + ")" + WS0 + "(?:;" + WS0 + ")?$");
    /** PgBouncer's buffers: longer is "bad arguments". */
    private static final int MAX_NAME = 15;
    private static final int MAX_ARG = 63;
    private static final int MAX_VALUE = 255;

    /** The commands of one Query message: PgBouncer runs the text as one command, or none. */
    static List<String> split(String text) {
        return List.of(text);
    }

    /**
     * Parses {@code text}; throws {@link AdminException} with PgBouncer's message when it is not
     * a command.
     */
    static AdminCommand parse(String text) {
        Matcher m = NORMAL.matcher(text);
        if (m.matches()) {
            String name = unquote(m.group(1));
            String arg = m.group(2) == null ? "" : unquote(m.group(2));
            if (name.length() > MAX_NAME || arg.length() > MAX_ARG) {
                throw new AdminException("bad arguments");
            }
            return new AdminCommand(name.toLowerCase(Locale.ROOT), arg, null);
        }
        m = SET.matcher(text);
        if (m.matches()) {
            String key = unquote(m.group(1));
            String raw = m.group(2);
            String value = raw.startsWith("'") ? raw.substring(1, raw.length() - 1).replace("''", "'") : unquote(raw);
            if (key.isEmpty() || key.length() > MAX_ARG || value.length() > MAX_VALUE) {
                throw new AdminException("bad arguments");
            }
            return new AdminCommand("set", key, value);
        }
        throw new AdminException("invalid command '" + text + "', use SHOW HELP;");
    }

    private static String unquote(String word) {
        if (word.startsWith("\"")) {
            return word.substring(1, word.length() - 1).replace("\"\"", "\"");
        }
        return word;
    }
}
