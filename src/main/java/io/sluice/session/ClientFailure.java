package io.sluice.session;

import io.netty.handler.codec.DecoderException;
import io.sluice.protocol.MessageTooLargeException;
import io.sluice.protocol.ProtocolException;
import io.sluice.protocol.SqlState;

/**
 * What a client is told when its pipeline fails, for the login and the session handler alike:
 * a FATAL with PostgreSQL's SQLSTATE for what it sent wrong, or (I/O errors, and Sluice's own
 * failures, an allocation that failed among them) a plain close of this connection only.
 *
 * @param cause the failure, unwrapped from a DecoderException
 * @param sqlState the FATAL's SQLSTATE, null for a plain close
 */
record ClientFailure(Throwable cause, String sqlState, String message) {
    static ClientFailure of(Throwable thrown) {
        Throwable t = thrown instanceof DecoderException && thrown.getCause() != null ? thrown.getCause() : thrown;
        if (t instanceof MessageTooLargeException) {
            return new ClientFailure(t, SqlState.PROGRAM_LIMIT_EXCEEDED, t.getMessage());
        } else if (t instanceof ProtocolException) {
            return new ClientFailure(t, SqlState.PROTOCOL_VIOLATION, t.getMessage());
        } else if (t instanceof IndexOutOfBoundsException) {
            // A message body shorter than the fields its type has: PostgreSQL's words for it.
            return new ClientFailure(t, SqlState.PROTOCOL_VIOLATION, "invalid message format");
        }
        return new ClientFailure(t, null, null);
    }

    /** Whether the client sent something malformed (as opposed to a failure of the connection). */
    boolean protocol() {
        return cause instanceof ProtocolException || cause instanceof IndexOutOfBoundsException;
    }
}
