package io.sluice.protocol;

/**
 * Message type bytes sent by a client (frontend) to the server.
 *
 * <p>Kept apart from {@link BackendCodes}: the two directions reuse letters with other
 * meanings ('D' is Describe here and DataRow there; also 'S', 'E', 'H', 'C').
 */
public final class FrontendCodes {
    public static final byte BIND = 'B';
    public static final byte CLOSE = 'C';
    public static final byte COPY_DATA = 'd';
    public static final byte COPY_DONE = 'c';
    public static final byte COPY_FAIL = 'f';
    public static final byte DESCRIBE = 'D';
    public static final byte EXECUTE = 'E';
    public static final byte FLUSH = 'H';
    public static final byte FUNCTION_CALL = 'F';
    public static final byte PARSE = 'P';
    /** PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse: all share 'p'. */
    public static final byte PASSWORD = 'p';
    public static final byte QUERY = 'Q';
    public static final byte SYNC = 'S';
    public static final byte TERMINATE = 'X';

    /** Protocol 3.0 in a StartupMessage. */
    public static final int PROTOCOL_3_0 = 196608;
    public static final int CANCEL_REQUEST_CODE = 80877102;
    public static final int SSL_REQUEST_CODE = 80877103;
    public static final int GSSENC_REQUEST_CODE = 80877104;

    private FrontendCodes() {
    }
}
