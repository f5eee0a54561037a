package io.sluice.auth;

import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ServerFinalMessage;
import com.ongres.scram.common.ServerFirstMessage;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;

/**
 * The server side of one SCRAM-SHA-256 exchange: Sluice checking a client's proof, the way
 * PostgreSQL's auth-scram.c does. Not thread-safe; one instance per login.
 *
 * <p>Flow: {@link #start}, {@link #clientFirst} (answer in AuthenticationSASLContinue),
 * {@link #clientFinal} (answer in AuthenticationSASLFinal). Any {@link ScramAuthException}
 * ends the exchange; the caller then sends FATAL 28P01 and closes.
 *
 * <p>An unknown user (or one with no SCRAM-capable secret) gets a mock exchange that looks
 * the same on the wire, with a salt that is stable per user name, and fails at the last
 * step, so a client cannot probe which users exist.
 *
 * <p>The client-first message is parsed here rather than with the library's
 * {@code ClientFirstMessage.parseFrom}: that rejects the empty user name ({@code n=,})
 * that libpq sends, and re-encodes the user, while the AuthMessage must be built from
 * the bytes exactly as received.
 */
public final class ScramServerExchange {

    /** Length of the server's part of the nonce; 24 printable characters as PostgreSQL sends. */
    private static final int SERVER_NONCE_LENGTH = 24;

    /**
     * Per-process key for mock salts. Random per process so the mock salt cannot be
     * computed offline (which would reveal that a user does not exist), yet stable within
     * the process so repeated probes of the same name see the same salt, as a real user would.
     */
    private static final byte[] MOCK_SALT_KEY = randomBytes(32);

    private static final byte[] MOCK_KEY = new byte[Secret.SCRAM_KEY_LENGTH];

    private enum State { AWAIT_CLIENT_FIRST, AWAIT_CLIENT_FINAL, SUCCEEDED, FAILED }

    private final Secret.Scram keys;
    private final boolean mock;
    private final String serverNonce;

    private State state = State.AWAIT_CLIENT_FIRST;
    private String gs2Header;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private byte[] clientKey;

    private ScramServerExchange(Secret.Scram keys, boolean mock, String serverNonce) {
        this.keys = keys;
        this.mock = mock;
        this.serverNonce = serverNonce;
    }

    /**
     * Starts an exchange for the startup packet's {@code user}.
     *
     * @param keysOrNull the user's keys, or null for an unknown user or one whose secret
     *     cannot do SCRAM (md5): then a mock exchange that always fails is run
     */
    public static ScramServerExchange start(String user, Secret.Scram keysOrNull, SecureRandom rnd) {
        return start(user, keysOrNull, ScramKeyCache.ITERATIONS, rnd);
    }

    /**
     * As above; a mock exchange tells the client {@code mockIterations}, the count a plaintext
     * secret's keys are derived with (scram_iterations), so that it looks like a real one.
     */
    public static ScramServerExchange start(String user, Secret.Scram keysOrNull, int mockIterations,
            SecureRandom rnd) {
        return start(user, keysOrNull, mockIterations, ScramFunctions.nonce(SERVER_NONCE_LENGTH, rnd));
    }

    /** With a fixed server nonce, to replay published exchanges (RFC 7677) in tests. */
    static ScramServerExchange start(String user, Secret.Scram keysOrNull, String serverNonce) {
        return start(user, keysOrNull, ScramKeyCache.ITERATIONS, serverNonce);
    }

    private static ScramServerExchange start(String user, Secret.Scram keysOrNull, int mockIterations,
            String serverNonce) {
        if (keysOrNull != null) {
            return new ScramServerExchange(keysOrNull, false, serverNonce);
        }
        return new ScramServerExchange(mockKeys(user, mockIterations), true, serverNonce);
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new SecureRandom().nextBytes(b);
        return b;
    }

    private static Secret.Scram mockKeys(String user, int iterations) {
        byte[] mac = ScramFunctions.hmac(ScramKeys.MECHANISM, MOCK_SALT_KEY,
                String.valueOf(user).getBytes(StandardCharsets.UTF_8));
        byte[] salt = Arrays.copyOf(mac, ScramKeyCache.SALT_LENGTH);
        return new Secret.Scram(iterations, salt, MOCK_KEY, MOCK_KEY);
    }

    /**
     * Handles the client-first-message (the data of SASLInitialResponse) and returns the
     * server-first-message.
     */
    public String clientFirst(String clientFirstMessage) throws ScramAuthException {
        expect(State.AWAIT_CLIENT_FIRST);
        state = State.FAILED;
        String msg = require(clientFirstMessage);

        // gs2-header: cbind-flag "," [authzid] ","
        if (msg.length() < 3) {
            throw malformed("client-first-message");
        }
        char flag = msg.charAt(0);
        if (flag == 'p') {
            // Channel binding needs TLS and SCRAM-SHA-256-PLUS, which are not offered yet.
            throw new ScramAuthException("client requires SCRAM channel binding, which is not supported");
        }
        // 'y' (client could bind, thinks the server cannot) is fine while we never advertise
        // SCRAM-SHA-256-PLUS; once we do (over TLS) 'y' means a downgrade and must be refused.
        if ((flag != 'n' && flag != 'y') || msg.charAt(1) != ',') {
            throw malformed("client-first-message: bad channel-binding flag");
        }
        if (msg.charAt(2) == 'a') {
            throw new ScramAuthException("client uses SCRAM authorization identity, which is not supported");
        }
        if (msg.charAt(2) != ',') {
            throw malformed("client-first-message");
        }
        gs2Header = msg.substring(0, 3);
        clientFirstBare = msg.substring(3);

        String[] attrs = clientFirstBare.split(",", -1);
        if (attrs.length > 0 && attrs[0].startsWith("m=")) {
            throw new ScramAuthException("client requires an unsupported SCRAM extension");
        }
        // The user name is ignored, as in PostgreSQL: the startup packet's user is the one
        // authenticated (libpq sends it empty).
        if (attrs.length < 2 || !attrs[0].startsWith("n=") || !attrs[1].startsWith("r=")) {
            throw malformed("client-first-message");
        }
        String clientNonce = attrs[1].substring(2);
        if (clientNonce.isEmpty() || !isPrintable(clientNonce)) {
            throw malformed("client-first-message: bad nonce");
        }
        checkExtensions(attrs, 2, "client-first-message");

        ServerFirstMessage first = new ServerFirstMessage(clientNonce, serverNonce,
                Base64.getEncoder().encodeToString(keys.salt()), keys.iterations());
        nonce = first.getNonce();
        serverFirst = first.toString();
        state = State.AWAIT_CLIENT_FINAL;
        return serverFirst;
    }

    /**
     * Handles the client-final-message (the data of SASLResponse) and returns the
     * server-final-message ({@code v=<ServerSignature>}) if the proof is right.
     *
     * @throws ScramAuthException wrong password, unknown user, nonce or channel-binding
     *     mismatch, or a malformed message
     */
    public String clientFinal(String clientFinalMessage) throws ScramAuthException {
        expect(State.AWAIT_CLIENT_FINAL);
        state = State.FAILED;
        String msg = require(clientFinalMessage);

        // The proof is always last; everything before ",p=" is client-final-without-proof,
        // and goes into the AuthMessage exactly as the client sent it.
        int proofAt = msg.lastIndexOf(",p=");
        if (proofAt < 0) {
            throw malformed("client-final-message: no proof");
        }
        String withoutProof = msg.substring(0, proofAt);
        String[] attrs = withoutProof.split(",", -1);
        if (attrs.length < 2 || !attrs[0].startsWith("c=") || !attrs[1].startsWith("r=")) {
            throw malformed("client-final-message");
        }
        byte[] cbind = decode(attrs[0].substring(2), "channel-binding data");
        if (!Arrays.equals(cbind, gs2Header.getBytes(StandardCharsets.US_ASCII))) {
            throw new ScramAuthException("SCRAM channel-binding data does not match the client-first-message");
        }
        if (!attrs[1].substring(2).equals(nonce)) {
            throw new ScramAuthException("SCRAM nonce mismatch");
        }
        checkExtensions(attrs, 2, "client-final-message");
        byte[] proof = decode(msg.substring(proofAt + 3), "proof");
        if (proof.length != Secret.SCRAM_KEY_LENGTH) {
            throw malformed("client-final-message: bad proof length");
        }

        String authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
        byte[] clientSignature = ScramFunctions.clientSignature(ScramKeys.MECHANISM, keys.storedKey(), authMessage);
        byte[] recovered = new byte[proof.length];
        for (int i = 0; i < proof.length; i++) {
            recovered[i] = (byte) (proof[i] ^ clientSignature[i]);
        }
        // The check runs for mock exchanges too, so their timing matches a wrong password.
        boolean proofOk = MessageDigest.isEqual(ScramFunctions.hash(ScramKeys.MECHANISM, recovered), keys.storedKey());
        if (mock) {
            throw new ScramAuthException("SCRAM authentication failed: unknown user or no SCRAM-capable secret");
        }
        if (!proofOk) {
            throw new ScramAuthException("SCRAM authentication failed: wrong password");
        }
        clientKey = recovered;
        state = State.SUCCEEDED;
        byte[] serverSignature = ScramFunctions.serverSignature(ScramKeys.MECHANISM, keys.serverKey(), authMessage);
        return new ServerFinalMessage(serverSignature).toString();
    }

    /**
     * The client's ClientKey (ClientProof XOR ClientSignature), recovered after a
     * successful exchange. With the ServerKey it lets the pooler log in to PostgreSQL with
     * the same SCRAM secret without knowing the password.
     *
     * @throws IllegalStateException before the exchange has succeeded
     */
    public byte[] clientKey() {
        if (state != State.SUCCEEDED) {
            throw new IllegalStateException("SCRAM exchange has not succeeded");
        }
        return clientKey.clone();
    }

    /** The keys this exchange checked against (mock keys for a mock exchange). */
    public Secret.Scram keys() {
        return keys;
    }

    /** True once {@link #clientFinal} has accepted the proof. */
    public boolean succeeded() {
        return state == State.SUCCEEDED;
    }

    @Override
    public String toString() {
        return "ScramServerExchange[" + state + (mock ? ", mock" : "") + "]";
    }

    private void expect(State expected) {
        if (state != expected) {
            throw new IllegalStateException("SCRAM exchange is in state " + state + ", not " + expected);
        }
    }

    private static String require(String msg) throws ScramAuthException {
        if (msg == null || msg.isEmpty()) {
            throw new ScramAuthException("malformed SCRAM message: empty");
        }
        return msg;
    }

    private static void checkExtensions(String[] attrs, int from, String where) throws ScramAuthException {
        for (int i = from; i < attrs.length; i++) {
            String a = attrs[i];
            if (a.length() < 2 || a.charAt(1) != '=' || !isAsciiLetter(a.charAt(0))) {
                throw malformed(where);
            }
        }
    }

    private static byte[] decode(String b64, String what) throws ScramAuthException {
        try {
            return Base64.getDecoder().decode(b64);
        } catch (IllegalArgumentException e) {
            throw new ScramAuthException("malformed SCRAM message: " + what + " is not valid base64");
        }
    }

    private static ScramAuthException malformed(String where) {
        return new ScramAuthException("malformed SCRAM " + where);
    }

    /** RFC 5802 "printable": %x21-7E except ','. */
    private static boolean isPrintable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x21 || c > 0x7e || c == ',') {
                return false;
            }
        }
        return true;
    }

    private static boolean isAsciiLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
