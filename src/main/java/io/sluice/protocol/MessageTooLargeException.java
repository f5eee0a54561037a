package io.sluice.protocol;

/**
 * A message Sluice would have to hold whole is larger than it may hold (the scanner's cap on
 * what it collects, or what a {@link MemoryBudget} allows): the connection is closed with this
 * message, and with SQLSTATE 54000 (program_limit_exceeded) where a client is told.
 */
public final class MessageTooLargeException extends ProtocolException {
    public MessageTooLargeException(String message) {
        super(message);
    }
}
