package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.sluice.pool.LeftState;

/**
 * Finds, in the SQL text of a client's Query or Parse, the statements that leave session state
 * on the server beyond the transaction ({@link LeftState}): SET other than SET LOCAL, SET
 * TRANSACTION and SET CONSTRAINTS (SET ROLE and SET SESSION AUTHORIZATION included), LISTEN,
 * CREATE [GLOBAL|LOCAL] TEMP[ORARY] ..., and calls of the session-level advisory lock functions.
 *
 * <p>A lexer just good enough for that, hand-written because the text is only peeked at as it
 * is relayed, never decoded: statements start at the beginning and after each {@code ;};
 * whitespace and comments before a statement are skipped; quoted strings and identifiers are
 * stepped over. What a function or DO block does inside the server is not seen, and neither
 * is text past {@link #MAX_SCAN} bytes or not yet read when the message starts to be relayed.
 */
final class StateScan {
    /** Bytes of a statement's text looked at, at most: a 10 MB INSERT is not read through for a SET. */
    static final int MAX_SCAN = 64 * 1024;

    private StateScan() {
    }

    /** A Query body, positioned at its start in {@code in}, of which any part may be readable. */
    static int query(ByteBuf in, int bodyLength) {
        int from = in.readerIndex();
        return scan(in, from, end(in, from, bodyLength));
    }

    /** A Parse body: the statement name, then the text. */
    static int parse(ByteBuf in, int bodyLength) {
        int from = in.readerIndex();
        int end = end(in, from, bodyLength);
        int nul = in.indexOf(from, end, (byte) 0);
        return nul < 0 ? 0 : scan(in, nul + 1, end);
    }

    private static int end(ByteBuf in, int from, int bodyLength) {
        return Math.min(in.writerIndex(), from + Math.min(bodyLength, MAX_SCAN));
    }

    static int scan(ByteBuf b, int from, int end) {
        int bits = 0;
        boolean atStart = true;
        int i = from;
        while (i < end) {
            byte c = b.getByte(i);
            if (atStart) {
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                    i++;
                    continue;
                }
                if (c == '-' && i + 1 < end && b.getByte(i + 1) == '-') {
                    i = skipTo(b, i + 2, end, (byte) '\n');
                    continue;
                }
                if (c == '/' && i + 1 < end && b.getByte(i + 1) == '*') {
                    i = skipBlockComment(b, i + 2, end);
                    continue;
                }
                atStart = false;
                bits |= statement(b, i, end);
            }
            if (c == ';') {
                atStart = true;
            } else if (c == '\'' || c == '"') {
                i = skipTo(b, i + 1, end, c);
                continue;
            } else if ((c | 0x20) == 'a' && word(b, i, end, "advisory_lock")) {
                bits |= LeftState.ADVISORY_LOCK;
            } else if (c == 0) {
                break;
            }
            i++;
        }
        return bits;
    }

    /** What the statement that starts at {@code i} leaves, by its first words. */
    private static int statement(ByteBuf b, int i, int end) {
        if (word(b, i, end, "set")) {
            int next = nextWord(b, i + 3, end);
            if (next < 0 || word(b, next, end, "local") || word(b, next, end, "transaction")
                    || word(b, next, end, "constraints")) {
                return 0;
            }
            return next == i + 3 ? 0 : LeftState.SET;
        }
        if (word(b, i, end, "listen")) {
            return nextWord(b, i + 6, end) > i + 6 ? LeftState.LISTEN : 0;
        }
        if (word(b, i, end, "create")) {
            int next = nextWord(b, i + 6, end);
            if (next < 0 || next == i + 6) {
                return 0;
            }
            if (word(b, next, end, "global") || word(b, next, end, "local")) {
                next = nextWord(b, next + (word(b, next, end, "local") ? 5 : 6), end);
                if (next < 0) {
                    return 0;
                }
            }
            return word(b, next, end, "temp") ? LeftState.TEMP_TABLE : 0;
        }
        return 0;
    }

    /** Where the next word after {@code i} starts (whitespace skipped), -1 at the end. */
    private static int nextWord(ByteBuf b, int i, int end) {
        while (i < end) {
            byte c = b.getByte(i);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\f') {
                return i;
            }
            i++;
        }
        return -1;
    }

    /** True when {@code w} (lower case) is at {@code i}, in any case ("temp" also matches "temporary"). */
    private static boolean word(ByteBuf b, int i, int end, String w) {
        if (i + w.length() > end) {
            return false;
        }
        for (int k = 0; k < w.length(); k++) {
            if ((b.getByte(i + k) | 0x20) != w.charAt(k) && b.getByte(i + k) != w.charAt(k)) {
                return false;
            }
        }
        return true;
    }

    private static int skipTo(ByteBuf b, int i, int end, byte stop) {
        int at = b.indexOf(i, end, stop);
        return at < 0 ? end : at + 1;
    }

    private static int skipBlockComment(ByteBuf b, int i, int end) {
        while (i + 1 < end) {
            if (b.getByte(i) == '*' && b.getByte(i + 1) == '/') {
                return i + 2;
            }
            i++;
        }
        return end;
    }
}
