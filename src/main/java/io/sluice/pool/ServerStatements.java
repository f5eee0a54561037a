package io.sluice.pool;

import io.sluice.protocol.BackendCodes;
import io.sluice.protocol.PgReader.ErrorFields;
import io.sluice.protocol.MessageScanner;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The prepared statements one server connection holds under Sluice's names, and the replies
 * it owes for the Parse, Bind and Close messages sent to it, in order, so that replies to
 * Sluice's own messages can be hidden from the client.
 *
 * <p>Why a queue of expected replies: PostgreSQL answers extended-protocol messages strictly in
 * order, so the n-th ParseComplete belongs to the n-th Parse sent. After an error it skips
 * everything up to the next Sync, so entries up to the next Sync marker are dropped then.
 */
public final class ServerStatements {
    /** What to do with a reply when it arrives. */
    public enum Reply {
        /** The client asked for it: relay it. */
        RELAY,
        /** Sluice's own message caused it: drop it. */
        HIDE,
        /** A CloseComplete standing in for a ParseComplete (the statement was already there). */
        AS_PARSE_COMPLETE
    }

    private static final Reply[] REPLIES = Reply.values();

    private static final byte MARKER = 'Z';
    /** The SQL that drops every prepared statement of a session. */
    private static final String DROP_ALL = "(deallocate\\s+(prepare\\s+)?all|discard\\s+all)";
    /** A statement that is only that (client queries). */
    private static final Pattern DROPS_ALL = Pattern.compile("\\s*" + DROP_ALL + "\\s*;?\\s*", Pattern.CASE_INSENSITIVE);
    /** That anywhere in a reset query. */
    private static final Pattern DROPS_IN_RESET = Pattern.compile("\\b" + DROP_ALL + "\\b", Pattern.CASE_INSENSITIVE);
    /**
     * The statement used by a "cached plan must not change result type" Bind is dropped, so
     * the next execution prepares it again (PgBouncer needs a RECONNECT there).
     */
    private static final String PLAN_CHANGED = "cached plan must not change result type";

    private final int capacity;
    private boolean uncertain;
    /** Statement name → pipeline epoch of its last use; access order, so the eldest is least recently used. */
    private final LinkedHashMap<String, Long> prepared = new LinkedHashMap<>(16, 0.75f, true);
    /**
     * Awaited replies, oldest first: '1', '2', '3', or a marker (Sync, Query, FunctionCall) that
     * ends in ReadyForQuery. A ring of plain arrays: one entry per Parse, Bind, Close and Sync
     * relayed, so no object per message.
     */
    private byte[] kinds = new byte[16];
    private byte[] replies = new byte[16];
    private String[] statements = new String[16];
    /** For a client's own named Parse: the client's name for it (forgotten if the Parse fails or is skipped). */
    private String[] clientNames = new String[16];
    private int head;
    private int count;
    /** Names to close on the server before the next client's messages (stale or stray statements). */
    private final List<String> toClose = new ArrayList<>();
    /** Client names whose Parse failed or was skipped after an error: no such statement exists. */
    private final List<String> notParsed = new ArrayList<>(0);
    /** Counts markers: statements used since the last one may still have open portals. */
    private long epoch;

    public ServerStatements(int capacity) {
        this.capacity = capacity;
    }

    /** Statements prepared on this server (SHOW SERVERS prepared_statements). */
    public int size() {
        return prepared.size();
    }

    public boolean has(String name) {
        Long e = prepared.get(name);
        if (e != null) {
            prepared.put(name, epoch);
            return true;
        }
        return false;
    }

    /**
     * Records {@code name} as prepared here and returns the least recently used statement to
     * close, if the server is now over capacity, or null. A statement used since the last Sync
     * is never chosen: closing it would close the portals bound to it before they run.
     */
    public String add(String name) {
        prepared.put(name, epoch);
        if (prepared.size() <= capacity) {
            return null;
        }
        for (Iterator<Map.Entry<String, Long>> it = prepared.entrySet().iterator(); it.hasNext();) {
            Map.Entry<String, Long> e = it.next();
            if (e.getValue() < epoch) {
                it.remove();
                return e.getKey();
            }
        }
        return null;
    }

    /**
     * DEALLOCATE ALL or DISCARD ALL ran (or will, before anything sent after it): nothing is
     * prepared. Sent, not yet run: it may still fail (DISCARD ALL inside a transaction block)
     * and leave the statements there, so from now on a statement is closed before it is
     * prepared again here, which is harmless where it is gone.
     */
    public void clear() {
        prepared.clear();
        uncertain = true;
    }

    /** Whether a statement Sluice thinks absent here may still exist (see {@link #clear}). */
    public boolean uncertain() {
        return uncertain;
    }

    /** Whether {@code sql} is DEALLOCATE ALL or DISCARD ALL and nothing else. */
    public static boolean dropsAll(String sql) {
        String s = sql.toLowerCase(Locale.ROOT);
        return (s.contains("deallocate") || s.contains("discard")) && DROPS_ALL.matcher(sql).matches();
    }

    /** Whether a reset query drops prepared statements (DISCARD ALL or DEALLOCATE ALL in it). */
    public static boolean resetDrops(String resetQuery) {
        return DROPS_IN_RESET.matcher(resetQuery).find();
    }

    public void expect(byte kind, Reply reply, String statement) {
        expect(kind, reply, statement, null);
    }

    /** {@code clientName}: this reply answers the client's Parse of that name. */
    public void expect(byte kind, Reply reply, String statement, String clientName) {
        if (count == kinds.length) {
            grow();
        }
        int i = (head + count) & (kinds.length - 1);
        kinds[i] = kind;
        replies[i] = (byte) reply.ordinal();
        statements[i] = statement;
        clientNames[i] = clientName;
        count++;
    }

    /** A Sync, Query or FunctionCall was sent: it ends in ReadyForQuery. */
    public void expectReady() {
        expect(MARKER, Reply.RELAY, null);
        epoch++;
    }

    /**
     * The last {@code n} Syncs will get no ReadyForQuery (a COPY FROM STDIN ignores them): their
     * markers, which are the newest entries, go.
     */
    public void dropLastReady(int n) {
        while (n > 0 && count > 0 && kinds[(head + count - 1) & (kinds.length - 1)] == MARKER) {
            count--;
            statements[(head + count) & (kinds.length - 1)] = null;
            clientNames[(head + count) & (kinds.length - 1)] = null;
            n--;
        }
    }

    /** The head entry goes unanswered: if it is a client's Parse, the client has no such statement. */
    private void headNotAnswered() {
        if (clientNames[head] != null) {
            notParsed.add(clientNames[head]);
        }
    }

    /**
     * Client names whose Parse failed or was skipped since this was last called (the caller
     * forgets them and clears the list); empty almost always.
     */
    public List<String> notParsed() {
        return notParsed;
    }

    public boolean awaitingReplies() {
        return count > 0;
    }

    private void grow() {
        int n = kinds.length;
        byte[] k = new byte[n * 2];
        byte[] r = new byte[n * 2];
        String[] st = new String[n * 2];
        String[] cn = new String[n * 2];
        for (int j = 0; j < count; j++) {
            int i = (head + j) & (n - 1);
            k[j] = kinds[i];
            r[j] = replies[i];
            st[j] = statements[i];
            cn[j] = clientNames[i];
        }
        kinds = k;
        replies = r;
        statements = st;
        clientNames = cn;
        head = 0;
    }

    private byte headKind() {
        return count == 0 ? 0 : kinds[head];
    }

    private Reply headReply() {
        return REPLIES[replies[head]];
    }

    private String headStatement() {
        return statements[head];
    }

    private void pop() {
        statements[head] = null;
        clientNames[head] = null;
        head = (head + 1) & (kinds.length - 1);
        count--;
    }

    /** Names queued for closing; the caller sends a Close for each and clears the list. */
    public List<String> toClose() {
        return toClose;
    }

    public void closeLater(String name) {
        toClose.add(name);
    }

    /** How the scanner should treat a ParseComplete, BindComplete or CloseComplete now arriving. */
    public int classify(byte type) {
        if (headKind() != type || headReply() == Reply.RELAY) {
            return MessageScanner.OBSERVE;
        }
        return MessageScanner.CONSUME;
    }

    /** Takes the awaited reply off the queue and says what to do with it. */
    public Reply onReply(byte type) {
        if (headKind() != type) {
            return Reply.RELAY;
        }
        Reply r = headReply();
        pop();
        return r;
    }

    /**
     * An ErrorResponse: the server now skips to the next Sync, so no statement that a skipped
     * Parse would have created exists; a plan-change error drops the statement it hit.
     */
    public void onError(ErrorFields error) {
        boolean first = true;
        while (count > 0 && headKind() != MARKER) {
            byte kind = headKind();
            String statement = headStatement();
            headNotAnswered();
            pop();
            if (kind == BackendCodes.PARSE_COMPLETE && statement != null) {
                prepared.remove(statement);
            }
            if (first && kind == BackendCodes.BIND_COMPLETE && statement != null
                    && error.message() != null && error.message().contains(PLAN_CHANGED)) {
                prepared.remove(statement);
                toClose.add(statement);
            }
            first = false;
        }
    }

    /** ReadyForQuery: the marker it answers, and anything left before it, are done. */
    public void onReady() {
        while (count > 0) {
            byte kind = headKind();
            String statement = headStatement();
            headNotAnswered();
            pop();
            if (kind == MARKER) {
                return;
            }
            if (kind == BackendCodes.PARSE_COMPLETE && statement != null) {
                prepared.remove(statement);
            }
        }
    }
}
