package io.sluice.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * PostgreSQL's md5 password scheme: the stored hash, the salted response a client sends to
 * AuthenticationMD5Password, and its constant-time check.
 *
 * <p>Strings are hashed as UTF-8, which is what libpq and pgjdbc send for the usual
 * UTF-8 client encoding.
 */
public final class Md5Auth {

    private static final HexFormat HEX = HexFormat.of();

    private Md5Auth() {
    }

    /** The stored form: {@code "md5" + hex(md5(password + user))}. */
    public static String encrypt(String password, String user) {
        return "md5" + HEX.formatHex(md5(utf8(password + user)));
    }

    /**
     * What a client answers to AuthenticationMD5Password with this 4-byte salt:
     * {@code "md5" + hex(md5(hex(md5(password + user)) + salt))}.
     *
     * @throws IllegalArgumentException for a SCRAM secret (md5 cannot be computed from it)
     */
    public static String clientResponse(String user, Secret secret, byte[] salt) {
        String storedHex = storedHex(user, secret);
        byte[] hex = storedHex.getBytes(StandardCharsets.US_ASCII);
        byte[] input = new byte[hex.length + salt.length];
        System.arraycopy(hex, 0, input, 0, hex.length);
        System.arraycopy(salt, 0, input, hex.length, salt.length);
        return "md5" + HEX.formatHex(md5(input));
    }

    /**
     * Checks a client's PasswordMessage against the secret in constant time. A SCRAM
     * secret never matches: md5 cannot be checked against it, and the caller should have
     * chosen SCRAM for such a user (as PostgreSQL does).
     */
    public static boolean verify(String user, Secret secret, byte[] salt, String response) {
        if (secret instanceof Secret.Scram || response == null) {
            return false;
        }
        byte[] expected = utf8(clientResponse(user, secret, salt));
        return MessageDigest.isEqual(expected, utf8(response));
    }

    private static String storedHex(String user, Secret secret) {
        if (secret instanceof Secret.Plain plain) {
            return encrypt(plain.password(), user).substring(3);
        }
        if (secret instanceof Secret.Md5 md5) {
            return md5.hexPart();
        }
        throw new IllegalArgumentException("md5 authentication is impossible with a SCRAM secret");
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] md5(byte[] input) {
        // digest() leaves the instance reset for the next use.
        return MD5.get().digest(input);
    }

    /**
     * One instance per thread: looking MD5 up through the security providers at every login
     * cost more than the hash itself.
     */
    private static final ThreadLocal<MessageDigest> MD5 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            // Every Java SE implementation must provide MD5.
            throw new IllegalStateException(e);
        }
    });
}
