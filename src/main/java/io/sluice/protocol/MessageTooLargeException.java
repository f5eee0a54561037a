package io.sluice.protocol;

/**
 * A message Sluice would have to hold whole is larger than it may hold (max_packet_size, or
 * what is left of the {@link AssemblyBudget}): the connection is closed with this message, and
 * with SQLSTATE 54000 (program_limit_exceeded) where a client is told.
 */
public final class MessageTooLargeException extends ProtocolException {
    public MessageTooLargeException(String message) {
        super(message);
    }
}
