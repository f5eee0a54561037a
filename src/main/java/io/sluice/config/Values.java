package io.sluice.config;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Parses the scalar value formats of pgbouncer.ini: integers, booleans, seconds, octal modes
 * and comma lists. Every method throws IllegalArgumentException with a message that the
 * caller prefixes with file, line and key.
 */
final class Values {
    private static final BigDecimal MAX_SECONDS = BigDecimal.valueOf(Long.MAX_VALUE / 1_000_000);
    /** The longest time a Duration gives in nanoseconds (about 292 years), which is how Sluice uses them. */
    private static final BigDecimal MAX_NANO_SECONDS = BigDecimal.valueOf(Long.MAX_VALUE).movePointLeft(9);

    private Values() {
    }

    /** A decimal integer within {@code min..max}. */
    static int parseInt(String value, int min, int max) {
        long v;
        try {
            v = Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid integer \"" + value + "\"");
        }
        if (v < min || v > max) {
            throw new IllegalArgumentException(v + " is out of range " + min + ".." + max);
        }
        return (int) v;
    }

    /**
     * PgBouncer stores its on/off settings as integers (any non-zero is on); Sluice also
     * accepts the words people write in postgresql.conf, but nothing else, so a typo fails.
     */
    static boolean parseBool(String value) {
        switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "1", "yes", "on", "true":
                return true;
            case "0", "no", "off", "false":
                return false;
            default:
                throw new IllegalArgumentException("invalid boolean \"" + value
                        + "\" (expected 1/0, yes/no, on/off or true/false)");
        }
    }

    /**
     * Seconds, fractions allowed ("0.5"), as PgBouncer reads them with strtod. PgBouncer has
     * no unit suffixes, so "5s" is an error here as it is there. Kept to microseconds, the
     * resolution PgBouncer stores.
     */
    static Duration parseSeconds(String value) {
        BigDecimal seconds;
        try {
            seconds = new BigDecimal(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid time \"" + value
                    + "\" (expected seconds, e.g. 15 or 0.5; no unit suffix)");
        }
        if (seconds.signum() < 0) {
            throw new IllegalArgumentException("invalid time \"" + value + "\" (must not be negative)");
        }
        if (seconds.compareTo(MAX_SECONDS) > 0) {
            throw new IllegalArgumentException("invalid time \"" + value + "\" (too large)");
        }
        if (seconds.compareTo(MAX_NANO_SECONDS) > 0) {
            // A value meant as "never" (server_lifetime = 99999999999): as long as can be counted.
            return Duration.ofNanos(Long.MAX_VALUE);
        }
        return Duration.of(seconds.movePointRight(6).longValue(), ChronoUnit.MICROS);
    }

    /** A file mode in octal ("0777", "700"), at most 0777. */
    static int parseOctalMode(String value) {
        int mode;
        try {
            mode = Integer.parseInt(value.strip(), 8);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid octal file mode \"" + value + "\"");
        }
        if (mode < 0 || mode > 0777) {
            throw new IllegalArgumentException("file mode \"" + value + "\" is out of range 0..0777");
        }
        return mode;
    }

    /** A comma-separated list, items trimmed, empty items dropped; "" is the empty list. */
    static List<String> commaList(String value) {
        List<String> out = new ArrayList<>();
        for (String item : value.split(",")) {
            String trimmed = item.strip();
            if (!trimmed.isEmpty()) {
                out.add(trimmed);
            }
        }
        return List.copyOf(out);
    }
}
