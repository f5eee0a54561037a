package io.sluice.config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Splits a [databases]/[users] value, libpq style: {@code key=value key='quoted value'}.
 * Inside single quotes, {@code ''} and {@code \'} stand for a quote and {@code \\} for a
 * backslash; an unquoted value ends at whitespace. A repeated key: the later one wins.
 */
final class ConnectionString {
    private ConnectionString() {
    }

    /**
     * Parses {@code s} into keys and values in order.
     *
     * @throws IllegalArgumentException describing the syntax error
     */
    static Map<String, String> parse(String s) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 0;
        int n = s.length();
        while (true) {
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n) {
                return out;
            }
            int keyStart = i;
            while (i < n && s.charAt(i) != '=' && !Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            String key = s.substring(keyStart, i);
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            if (i >= n || s.charAt(i) != '=' || key.isEmpty()) {
                throw new IllegalArgumentException("syntax error in connection string near \""
                        + s.substring(keyStart) + "\" (expected key=value)");
            }
            i++;
            while (i < n && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && s.charAt(i) == '\'') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = s.charAt(i);
                    if (c == '\\' && i + 1 < n) {
                        value.append(s.charAt(i + 1));
                        i += 2;
                    } else if (c == '\'' && i + 1 < n && s.charAt(i + 1) == '\'') {
                        value.append('\'');
                        i += 2;
                    } else if (c == '\'') {
                        i++;
                        closed = true;
                        break;
                    } else {
                        value.append(c);
                        i++;
                    }
                }
                if (!closed) {
                    throw new IllegalArgumentException("unterminated quoted value for " + key);
                }
                if (i < n && !Character.isWhitespace(s.charAt(i))) {
                    throw new IllegalArgumentException("missing space after quoted value for " + key);
                }
            } else {
                while (i < n && !Character.isWhitespace(s.charAt(i))) {
                    value.append(s.charAt(i));
                    i++;
                }
            }
            out.remove(key);
            out.put(key, value.toString());
        }
    }
}
