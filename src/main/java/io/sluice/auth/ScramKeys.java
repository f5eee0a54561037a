package io.sluice.auth;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;
import java.util.Arrays;

/**
 * The server-side SCRAM-SHA-256 verifier for one user: what a SCRAM exchange needs to
 * check a client's proof and sign the server's answer.
 *
 * <p>Arrays are copied in and shared out: callers must not modify what the accessors
 * return. {@code toString()} shows only the iteration count.
 */
public record ScramKeys(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {

    static final ScramMechanism MECHANISM = ScramMechanism.SCRAM_SHA_256;

    public ScramKeys {
        if (iterations <= 0 || salt == null || storedKey == null || serverKey == null) {
            throw new IllegalArgumentException("incomplete SCRAM keys");
        }
        salt = salt.clone();
        storedKey = storedKey.clone();
        serverKey = serverKey.clone();
    }

    /** The keys stored in a SCRAM verifier, used as is. */
    public static ScramKeys fromSecret(Secret.Scram secret) {
        return new ScramKeys(secret.iterations(), secret.salt(), secret.storedKey(), secret.serverKey());
    }

    /**
     * Derives keys from a plaintext password, as PostgreSQL does when it stores one
     * (SASLprep, then PBKDF2-HMAC-SHA-256). This is slow on purpose: cache the result.
     */
    public static ScramKeys derive(String password, byte[] salt, int iterations) {
        byte[] salted = saltedPassword(password, salt, iterations);
        byte[] clientKey = ScramFunctions.clientKey(MECHANISM, salted);
        return new ScramKeys(iterations, salt,
                ScramFunctions.storedKey(MECHANISM, clientKey),
                ScramFunctions.serverKey(MECHANISM, salted));
    }

    /** PostgreSQL's SaltedPassword: SASLprep where it applies, the raw string where it fails. */
    static byte[] saltedPassword(String password, byte[] salt, int iterations) {
        return ScramFunctions.saltedPassword(MECHANISM, StringPreparation.POSTGRESQL_PREPARATION,
                password.toCharArray(), salt, iterations);
    }

    /** These keys as a {@link Secret.Scram}, e.g. to write to an auth_file. */
    public Secret.Scram toSecret() {
        return new Secret.Scram(iterations, salt, storedKey, serverKey);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ScramKeys k && k.iterations == iterations && Arrays.equals(k.salt, salt)
                && Arrays.equals(k.storedKey, storedKey) && Arrays.equals(k.serverKey, serverKey);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * iterations + Arrays.hashCode(salt)) + Arrays.hashCode(storedKey))
                + Arrays.hashCode(serverKey);
    }

    @Override
    public String toString() {
        return "ScramKeys[iterations=" + iterations + ", ***]";
    }
}
