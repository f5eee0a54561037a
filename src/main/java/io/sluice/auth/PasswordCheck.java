package io.sluice.auth;

import com.ongres.scram.common.ScramFunctions;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Checks a cleartext password (auth_type = plain) against any kind of stored secret.
 */
public final class PasswordCheck {

    private PasswordCheck() {
    }

    /**
     * True if {@code password} is the password behind {@code secret}. Every comparison is
     * constant-time so response timing does not reveal how much of a guess was right.
     */
    public static boolean verifyCleartext(String user, Secret secret, String password) {
        if (password == null) {
            return false;
        }
        if (secret instanceof Secret.Plain plain) {
            return MessageDigest.isEqual(utf8(plain.password()), utf8(password));
        }
        if (secret instanceof Secret.Md5 md5) {
            return MessageDigest.isEqual(utf8(md5.hash()), utf8(Md5Auth.encrypt(password, user)));
        }
        Secret.Scram scram = (Secret.Scram) secret;
        byte[] salted = ScramKeys.saltedPassword(password, scram.salt(), scram.iterations());
        byte[] clientKey = ScramFunctions.clientKey(ScramKeys.MECHANISM, salted);
        byte[] storedKey = ScramFunctions.storedKey(ScramKeys.MECHANISM, clientKey);
        byte[] serverKey = ScramFunctions.serverKey(ScramKeys.MECHANISM, salted);
        // Non-short-circuit '&': both comparisons always run.
        return MessageDigest.isEqual(storedKey, scram.storedKey())
                & MessageDigest.isEqual(serverKey, scram.serverKey());
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
