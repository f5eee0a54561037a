package io.sluice.auth;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.StringPreparation;

/**
 * Derives SCRAM-SHA-256 verifiers ({@link Secret.Scram}) from plaintext passwords, as
 * PostgreSQL does when it stores one. The key material itself lives in {@link Secret.Scram},
 * which is what a SCRAM exchange checks a client's proof against.
 */
public final class ScramKeys {

    static final ScramMechanism MECHANISM = ScramMechanism.SCRAM_SHA_256;

    private ScramKeys() {
    }

    /**
     * Derives a verifier from a plaintext password (SASLprep, then PBKDF2-HMAC-SHA-256).
     * This is slow on purpose: cache the result.
     */
    public static Secret.Scram derive(String password, byte[] salt, int iterations) {
        byte[] salted = saltedPassword(password, salt, iterations);
        byte[] clientKey = ScramFunctions.clientKey(MECHANISM, salted);
        return new Secret.Scram(iterations, salt,
                ScramFunctions.storedKey(MECHANISM, clientKey),
                ScramFunctions.serverKey(MECHANISM, salted));
    }

    /** PostgreSQL's SaltedPassword: SASLprep where it applies, the raw string where it fails. */
    static byte[] saltedPassword(String password, byte[] salt, int iterations) {
        return ScramFunctions.saltedPassword(MECHANISM, StringPreparation.POSTGRESQL_PREPARATION,
                password.toCharArray(), salt, iterations);
    }
}
