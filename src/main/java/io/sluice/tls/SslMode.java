package io.sluice.tls;

import java.util.Locale;

/**
 * client_tls_sslmode and server_tls_sslmode, in PgBouncer's (and libpq's) order: each mode asks
 * for at least what the one before it does.
 */
public enum SslMode {
    DISABLE, ALLOW, PREFER, REQUIRE, VERIFY_CA, VERIFY_FULL;

    /** The mode a checked setting value names (disable, allow, prefer, require, verify-ca, verify-full). */
    public static SslMode parse(String value) {
        return valueOf(value.strip().toUpperCase(Locale.ROOT).replace('-', '_'));
    }

    /** At least {@code other}. */
    public boolean atLeast(SslMode other) {
        return compareTo(other) >= 0;
    }

    /** As written in pgbouncer.ini. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
