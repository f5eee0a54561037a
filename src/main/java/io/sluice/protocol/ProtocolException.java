package io.sluice.protocol;

/**
 * A peer broke the wire protocol (bad length, unknown request code, corrupt message).
 * The connection that raised it is answered with FATAL 08P01 and closed.
 */
public class ProtocolException extends RuntimeException {
    public ProtocolException(String message) {
        super(message, null, false, false);
    }
}
