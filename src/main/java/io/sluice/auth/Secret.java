package io.sluice.auth;

import java.util.Arrays;
import java.util.Base64;

/**
 * A user's stored password in one of the three forms PostgreSQL and PgBouncer accept:
 * plaintext, {@code md5} hash, or SCRAM-SHA-256 verifier.
 *
 * <p>Every {@code toString()} names only the kind of secret: these objects end up in
 * config dumps and log lines, and must never print the secret itself.
 */
public sealed interface Secret {

    /** Prefix of a PostgreSQL SCRAM-SHA-256 verifier. */
    String SCRAM_PREFIX = "SCRAM-SHA-256$";

    /** SHA-256 output length; StoredKey and ServerKey must be exactly this long. */
    int SCRAM_KEY_LENGTH = 32;

    /** A plaintext password. */
    record Plain(String password) implements Secret {
        public Plain {
            if (password == null) {
                throw new IllegalArgumentException("password is null");
            }
        }

        @Override
        public String toString() {
            return "Secret.Plain[***]";
        }
    }

    /** An md5 hash as PostgreSQL stores it: {@code "md5"} followed by 32 lowercase hex digits. */
    record Md5(String hash) implements Secret {
        public Md5 {
            if (!isMd5(hash)) {
                throw new IllegalArgumentException("not an md5 password hash");
            }
        }

        /** The 32 hex digits without the {@code md5} prefix. */
        public String hexPart() {
            return hash.substring(3);
        }

        @Override
        public String toString() {
            return "Secret.Md5[***]";
        }
    }

    /**
     * A SCRAM-SHA-256 verifier. The arrays are copied in; callers must not modify the
     * arrays the accessors return (they are shared, to keep logins allocation-free).
     */
    record Scram(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) implements Secret {
        public Scram {
            if (iterations <= 0) {
                throw new IllegalArgumentException("SCRAM iteration count must be positive");
            }
            if (salt == null || salt.length == 0) {
                throw new IllegalArgumentException("SCRAM salt is empty");
            }
            if (storedKey == null || storedKey.length != SCRAM_KEY_LENGTH
                    || serverKey == null || serverKey.length != SCRAM_KEY_LENGTH) {
                throw new IllegalArgumentException("SCRAM keys must be " + SCRAM_KEY_LENGTH + " bytes");
            }
            salt = salt.clone();
            storedKey = storedKey.clone();
            serverKey = serverKey.clone();
        }

        /** The verifier in PostgreSQL's text form, as stored in pg_authid and userlist.txt. */
        public String format() {
            Base64.Encoder b64 = Base64.getEncoder();
            return SCRAM_PREFIX + iterations + ":" + b64.encodeToString(salt) + "$"
                    + b64.encodeToString(storedKey) + ":" + b64.encodeToString(serverKey);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Scram s && s.iterations == iterations
                    && Arrays.equals(s.salt, salt) && Arrays.equals(s.storedKey, storedKey)
                    && Arrays.equals(s.serverKey, serverKey);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * (31 * iterations + Arrays.hashCode(salt)) + Arrays.hashCode(storedKey))
                    + Arrays.hashCode(serverKey);
        }

        @Override
        public String toString() {
            return "Secret.Scram[iterations=" + iterations + ", ***]";
        }
    }

    /**
     * Classifies a stored secret the way PostgreSQL does: {@code md5} + 32 lowercase hex is
     * an md5 hash, {@code SCRAM-SHA-256$...} is a verifier, anything else is plaintext.
     *
     * @throws IllegalArgumentException a string that starts like a SCRAM verifier but is
     *     malformed; the message does not include the string
     */
    public static Secret parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("secret is null");
        }
        if (isMd5(text)) {
            return new Md5(text);
        }
        if (text.startsWith(SCRAM_PREFIX)) {
            return parseScram(text);
        }
        return new Plain(text);
    }

    private static boolean isMd5(String s) {
        if (s == null || s.length() != 35 || !s.startsWith("md5")) {
            return false;
        }
        // PostgreSQL accepts lowercase hex only; anything else is a plaintext password.
        for (int i = 3; i < 35; i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    private static Scram parseScram(String text) {
        // SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
        String rest = text.substring(SCRAM_PREFIX.length());
        int dollar = rest.indexOf('$');
        if (dollar < 0 || rest.indexOf('$', dollar + 1) >= 0) {
            throw new IllegalArgumentException("malformed SCRAM secret: expected iterations:salt$storedkey:serverkey");
        }
        String[] head = rest.substring(0, dollar).split(":", -1);
        String[] keys = rest.substring(dollar + 1).split(":", -1);
        if (head.length != 2 || keys.length != 2) {
            throw new IllegalArgumentException("malformed SCRAM secret: expected iterations:salt$storedkey:serverkey");
        }
        int iterations;
        try {
            iterations = Integer.parseInt(head[0]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("malformed SCRAM secret: bad iteration count");
        }
        if (iterations <= 0) {
            throw new IllegalArgumentException("malformed SCRAM secret: bad iteration count");
        }
        byte[] salt = decode(head[1], "salt");
        byte[] storedKey = decode(keys[0], "stored key");
        byte[] serverKey = decode(keys[1], "server key");
        if (salt.length == 0) {
            throw new IllegalArgumentException("malformed SCRAM secret: empty salt");
        }
        if (storedKey.length != SCRAM_KEY_LENGTH || serverKey.length != SCRAM_KEY_LENGTH) {
            throw new IllegalArgumentException("malformed SCRAM secret: keys must be " + SCRAM_KEY_LENGTH + " bytes");
        }
        return new Scram(iterations, salt, storedKey, serverKey);
    }

    private static byte[] decode(String b64, String what) {
        try {
            return Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            // The decoder's message quotes the offending character: drop it.
            throw new IllegalArgumentException("malformed SCRAM secret: " + what + " is not valid base64");
        }
    }
}
