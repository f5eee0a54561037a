package io.sluice.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Remembers the SCRAM keys derived from plaintext auth_file passwords, so that a SCRAM
 * login with a plaintext secret runs PBKDF2 once per (user, password), not once per login.
 *
 * <p>Thread-safe: logins on every event loop share one cache. One entry per user: a
 * reload that changes a user's password replaces the entry on that user's next login.
 */
public final class ScramKeyCache {

    /** PostgreSQL's default salt length and iteration count (scram_iterations' default), so the wire looks the same. */
    static final int SALT_LENGTH = 16;
    static final int ITERATIONS = 4096;

    private record Entry(String password, Secret.Scram keys) {
        @Override
        public String toString() {
            return "Entry[***]";
        }
    }

    private final ConcurrentHashMap<String, Entry> byUser = new ConcurrentHashMap<>();
    private final SecureRandom random;

    public ScramKeyCache() {
        this(new SecureRandom());
    }

    public ScramKeyCache(SecureRandom random) {
        this.random = random;
    }

    /**
     * The keys for a SCRAM login by {@code user}: a SCRAM secret's own keys; keys derived
     * (and cached) from a plaintext secret; {@code null} for an md5 secret, from which
     * SCRAM is impossible (the caller then runs a mock exchange or falls back to md5).
     */
    public Secret.Scram keysFor(String user, Secret secret) {
        return keysFor(user, secret, ITERATIONS);
    }

    /** As above, deriving keys from a plaintext secret with {@code iterations} (scram_iterations). */
    public Secret.Scram keysFor(String user, Secret secret, int iterations) {
        if (secret instanceof Secret.Scram scram) {
            return scram;
        }
        if (!(secret instanceof Secret.Plain plain)) {
            return null;
        }
        String password = plain.password();
        Entry cached = byUser.get(user);
        if (cached != null && cached.keys.iterations() == iterations && samePassword(cached.password, password)) {
            return cached.keys;
        }
        // compute() runs PBKDF2 at most once per (user, password) even when many clients
        // of a new user log in together; it briefly blocks other updates in the same bin.
        return byUser.compute(user, (u, old) -> {
            if (old != null && old.keys.iterations() == iterations && samePassword(old.password, password)) {
                return old;
            }
            byte[] salt = new byte[SALT_LENGTH];
            random.nextBytes(salt);
            return new Entry(password, ScramKeys.derive(password, salt, iterations));
        }).keys;
    }

    /** Number of cached users (for tests and SHOW MEM-style accounting). */
    public int size() {
        return byUser.size();
    }

    private static boolean samePassword(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return "ScramKeyCache[" + byUser.size() + " users]";
    }
}
