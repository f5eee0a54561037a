package io.sluice.session;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Maps the BackendKeyData Sluice gave each client to its session, so a CancelRequest (which
 * arrives on a new connection, on any loop) reaches the server serving that client now.
 */
public final class CancelRegistry {
    private final ConcurrentHashMap<Long, ClientSession> sessions = new ConcurrentHashMap<>();

    /** Registers under a key not in use; returns false if taken (the caller draws another). */
    boolean register(int processId, int secretKey, ClientSession session) {
        return sessions.putIfAbsent(key(processId, secretKey), session) == null;
    }

    void remove(int processId, int secretKey, ClientSession session) {
        sessions.remove(key(processId, secretKey), session);
    }

    /** Forwards the cancel on the session's own loop; an unknown key is ignored, as PostgreSQL does. */
    public void cancel(int processId, int secretKey) {
        ClientSession s = sessions.get(key(processId, secretKey));
        if (s != null) {
            s.channel().eventLoop().execute(s::forwardCancel);
        }
    }

    private static long key(int processId, int secretKey) {
        return ((long) processId << 32) | (secretKey & 0xffffffffL);
    }
}
