package io.sluice.config;

import java.util.Locale;

/** When a server connection goes back to the pool: PgBouncer's {@code pool_mode}. */
public enum PoolMode {
    /** Released when the client disconnects. */
    SESSION,
    /** Released when a transaction ends. */
    TRANSACTION,
    /** Released after every statement; multi-statement transactions are refused. */
    STATEMENT;

    /**
     * Parses a config spelling, ignoring case as PgBouncer does.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static PoolMode parse(String value) {
        for (PoolMode mode : values()) {
            if (mode.configName().equalsIgnoreCase(value.trim())) {
                return mode;
            }
        }
        throw new IllegalArgumentException(
                "invalid pool_mode \"" + value + "\" (expected session, transaction or statement)");
    }

    /** The spelling used in pgbouncer.ini and SHOW output. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
