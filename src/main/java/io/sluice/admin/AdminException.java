package io.sluice.admin;

/** A console command refused or failed: the client gets an ERROR with this message and the session goes on. */
final class AdminException extends RuntimeException {
    private final String sqlState;

    AdminException(String message) {
        this(message, "08P01");
    }

    AdminException(String message, String sqlState) {
        super(message, null, false, false);
        this.sqlState = sqlState;
    }

    String sqlState() {
        return sqlState;
    }
}
