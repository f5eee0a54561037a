package io.sluice.session;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * The random bytes of a login (md5 salt, cancel key), drawn from a {@link SecureRandom} in
 * blocks. Each draw from the DRBG costs a few SHA-256 rounds and its state update whatever the
 * size, and a login needed three; one draw now serves about twenty logins. The bytes are
 * the DRBG's own, used once each, so they are as unpredictable as drawn one at a time.
 *
 * <p>One per event-loop thread (not thread-safe).
 */
final class LoginRandom {
    private static final int BLOCK = 256;

    private final SecureRandom random;
    private final byte[] block = new byte[BLOCK];
    private int next = BLOCK;

    LoginRandom() throws NoSuchAlgorithmException {
        this.random = SecureRandom.getInstance("DRBG");
    }

    /** The generator itself, for draws that need a SecureRandom (SCRAM nonces). */
    SecureRandom secureRandom() {
        return random;
    }

    void nextBytes(byte[] out) {
        for (int i = 0; i < out.length; i++) {
            out[i] = nextByte();
        }
    }

    int nextInt() {
        return (nextByte() & 0xff) << 24 | (nextByte() & 0xff) << 16 | (nextByte() & 0xff) << 8 | (nextByte() & 0xff);
    }

    private byte nextByte() {
        if (next == BLOCK) {
            random.nextBytes(block);
            next = 0;
        }
        byte b = block[next];
        // Used once: nothing drawn stays in the buffer after it is handed out.
        block[next++] = 0;
        return b;
    }
}
