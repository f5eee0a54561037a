package io.sluice.server;

/** Sluice cannot start for a reason outside its config: a port or socket taken, another instance running. */
public final class StartException extends Exception {
    public StartException(String message) {
        super(message);
    }
}
