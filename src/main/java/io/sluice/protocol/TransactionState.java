package io.sluice.protocol;

/** A server's transaction status, as the status byte of ReadyForQuery reports it. */
public enum TransactionState {
    IDLE, OPEN, FAILED;

    /** Any byte other than 'I', 'T' or 'E' means the stream is corrupt: a hard protocol error. */
    public static TransactionState of(byte status) {
        switch (status) {
            case 'I':
                return IDLE;
            case 'T':
                return OPEN;
            case 'E':
                return FAILED;
            default:
                throw new ProtocolException("invalid ReadyForQuery status byte " + (status & 0xff));
        }
    }
}
