package io.sluice.auth;

/**
 * Splits one auth_hba_file line into PgBouncer's tokens: a word ends at a blank, comma, quote or
 * {@code #}; a quoted string may hold anything, {@code ""} standing for a quote; {@code #} outside
 * quotes ends the line. Blanks are C's isspace, not Java's, as PgBouncer runs in the C locale.
 */
final class HbaTokens {

    /** A word is a keyword or a name; a quoted string is only ever a name. */
    enum Kind { WORD, QUOTED, COMMA, END }

    private final String line;
    private int pos;
    private Kind kind;
    private String text;

    HbaTokens(String line) throws HbaFile.Malformed {
        int nul = line.indexOf('\0');
        // PgBouncer reads the line as a C string.
        this.line = nul < 0 ? line : line.substring(0, nul);
        advance();
    }

    void advance() throws HbaFile.Malformed {
        while (pos < line.length() && isBlank(line.charAt(pos))) {
            pos++;
        }
        text = null;
        if (pos == line.length() || line.charAt(pos) == '#') {
            skipToEnd();
        } else if (line.charAt(pos) == ',') {
            kind = Kind.COMMA;
            pos++;
        } else if (line.charAt(pos) == '"') {
            StringBuilder sb = new StringBuilder();
            int p = pos + 1;
            while (true) {
                if (p >= line.length()) {
                    throw new HbaFile.Malformed("unterminated quoted string");
                }
                char c = line.charAt(p++);
                if (c == '"') {
                    if (p < line.length() && line.charAt(p) == '"') {
                        p++;
                    } else {
                        break;
                    }
                }
                sb.append(c);
            }
            kind = Kind.QUOTED;
            text = sb.toString();
            pos = p;
        } else {
            int start = pos++;
            while (pos < line.length() && !isBlank(line.charAt(pos)) && ",#\"".indexOf(line.charAt(pos)) < 0) {
                pos++;
            }
            kind = Kind.WORD;
            text = line.substring(start, pos);
        }
    }

    Kind kind() {
        return kind;
    }

    /** The word or the quoted string's content; null for a comma or the end. */
    String text() {
        return text;
    }

    void skipToEnd() {
        kind = Kind.END;
        text = null;
        pos = line.length();
    }

    boolean isWord(String word) {
        return kind == Kind.WORD && text.equals(word);
    }

    /** The raw line after the current token. */
    String rest() {
        return line.substring(pos);
    }

    String describe() {
        return switch (kind) {
            case WORD -> "\"" + text + "\"";
            case QUOTED -> "quoted \"" + text + "\"";
            case COMMA -> "\",\"";
            case END -> "end of line";
        };
    }

    /** C isspace in the C locale, which is what PgBouncer's tokenizer uses. */
    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\f' || c == '\r';
    }
}
