package io.sluice.auth;

/**
 * A SCRAM exchange that must end in "password authentication failed": bad proof, unknown
 * user, malformed message or an unsupported option.
 *
 * <p>The message is for Sluice's own log and says why; it never carries a proof, key or
 * nonce, so it is safe to log as is. The client is told only the generic FATAL 28P01.
 */
public final class ScramAuthException extends Exception {
    private static final long serialVersionUID = 1L;

    public ScramAuthException(String message) {
        super(message);
    }
}
