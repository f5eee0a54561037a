package io.sluice.session;

import io.netty.channel.Channel;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Maps the BackendKeyData Sluice gave each client to its session, so a CancelRequest (which
 * arrives on a new connection, on any loop) reaches the server serving that client now.
 */
public final class CancelRegistry {
    private final ConcurrentHashMap<Long, ClientSession> sessions = new ConcurrentHashMap<>();

    /**
     * Draws a random BackendKeyData not in use and registers {@code session} under it; returns
     * it as processId in the high 32 bits, secret key in the low ones.
     */
    long register(ClientSession session, LoginRandom random) {
        while (true) {
            long key = key(random.nextInt() & 0x7fffffff, random.nextInt());
            if (sessions.putIfAbsent(key, session) == null) {
                return key;
            }
        }
    }

    void remove(int processId, int secretKey, ClientSession session) {
        sessions.remove(key(processId, secretKey), session);
    }

    /**
     * Forwards the cancel on the session's own loop, and closes {@code requester} (the
     * connection that brought it) once that is over; an unknown key is ignored, as PostgreSQL
     * does, and the requester closed at once.
     */
    public void cancel(int processId, int secretKey, Channel requester) {
        ClientSession s = sessions.get(key(processId, secretKey));
        if (s == null) {
            requester.close();
            return;
        }
        s.channel().eventLoop().execute(() -> s.forwardCancel(requester));
    }

    private static long key(int processId, int secretKey) {
        return ((long) processId << 32) | (secretKey & 0xffffffffL);
    }
}
