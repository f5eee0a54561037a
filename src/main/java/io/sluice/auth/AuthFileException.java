package io.sluice.auth;

/**
 * An auth_file (userlist.txt) line that cannot be read, named by file and line number.
 *
 * <p>The message never quotes the line: it may hold a password.
 */
public final class AuthFileException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String sourceName;
    private final int lineNumber;

    public AuthFileException(String sourceName, int lineNumber, String reason) {
        super(sourceName + ":" + lineNumber + ": " + reason);
        this.sourceName = sourceName;
        this.lineNumber = lineNumber;
    }

    /** The file (or other source) the line came from. */
    public String sourceName() {
        return sourceName;
    }

    /** 1-based line number. */
    public int lineNumber() {
        return lineNumber;
    }
}
