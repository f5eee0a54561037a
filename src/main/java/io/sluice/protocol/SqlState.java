package io.sluice.protocol;

/** SQLSTATE codes that Sluice itself reports to clients. */
public final class SqlState {
    /** PgBouncer reports every pooler-made error as protocol_violation; clients rely on it. */
    public static final String PROTOCOL_VIOLATION = "08P01";
    public static final String INVALID_PASSWORD = "28P01";
    public static final String INVALID_AUTHORIZATION = "28000";
    public static final String FEATURE_NOT_SUPPORTED = "0A000";
    public static final String TOO_MANY_CONNECTIONS = "53300";
    /** A message larger than Sluice may hold whole. */
    public static final String PROGRAM_LIMIT_EXCEEDED = "54000";
    public static final String CONNECTION_FAILURE = "08006";
    public static final String ADMIN_SHUTDOWN = "57P01";
    /** "the database system is starting up" (or in recovery, or shutting down): try again soon. */
    public static final String CANNOT_CONNECT_NOW = "57P03";

    private SqlState() {
    }

    /** Five digits or capital letters, as every SQLSTATE is: what clients parse a class from. */
    public static boolean wellFormed(String code) {
        if (code.length() != 5) {
            return false;
        }
        for (int i = 0; i < 5; i++) {
            char c = code.charAt(i);
            if (!(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z')) {
                return false;
            }
        }
        return true;
    }
}
