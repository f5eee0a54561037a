package io.sluice.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * Log levels in PgBouncer's words (LOG, WARNING, ERROR, DEBUG, NOISE), so that tools written
 * for PgBouncer's log parse Sluice's: used as {@code %pglevel} in logback.xml. Logback has no
 * setting for level names, so this is the one hand-written piece of the log format.
 */
public final class PgLevel extends ClassicConverter {
    @Override
    public String convert(ILoggingEvent event) {
        Level l = event.getLevel();
        if (l == Level.INFO) {
            return "LOG";
        } else if (l == Level.WARN) {
            return "WARNING";
        } else if (l == Level.ERROR) {
            return "ERROR";
        } else if (l == Level.DEBUG) {
            return "DEBUG";
        }
        return "NOISE";
    }
}
