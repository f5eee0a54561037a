package io.sluice.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.AppenderBase;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Collects what Sluice and Netty log while a test runs, so the test can assert what an operator
 * would read: that no exception escaped a handler (Netty's "reached at the tail of the pipeline",
 * a logged stack trace), or that a line appeared at most so many times.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
    private final List<ILoggingEvent> events = new ArrayList<>();
    /** The root's own appenders while {@link #captureQuietly} keeps them from printing. */
    private final List<Appender<ILoggingEvent>> muted = new ArrayList<>();

    private LogCapture() {
    }

    /** Starts collecting every event at INFO and above from the root logger. */
    public static LogCapture capture() {
        LogCapture c = new LogCapture();
        c.setContext((ch.qos.logback.classic.LoggerContext) LoggerFactory.getILoggerFactory());
        c.start();
        root().addAppender(c);
        return c;
    }

    /**
     * As {@link #capture}, and nothing is printed until {@link #close}: for fuzz tests, whose
     * thousands of refused inputs would each log a line.
     */
    public static LogCapture captureQuietly() {
        LogCapture c = capture();
        for (Iterator<Appender<ILoggingEvent>> it = root().iteratorForAppenders(); it.hasNext();) {
            Appender<ILoggingEvent> a = it.next();
            if (a != c) {
                c.muted.add(a);
            }
        }
        c.muted.forEach(a -> root().detachAppender(a));
        return c;
    }

    private static Logger root() {
        return (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    }

    @Override
    protected synchronized void append(ILoggingEvent e) {
        if (e.getLevel().isGreaterOrEqual(Level.INFO)) {
            events.add(e);
        }
    }

    /** The formatted messages logged so far. */
    public synchronized List<String> messages() {
        List<String> out = new ArrayList<>();
        for (ILoggingEvent e : events) {
            out.add(e.getFormattedMessage());
        }
        return out;
    }

    /**
     * Events that show an exception escaped Sluice's handling: any event carrying a stack trace,
     * and anything Netty itself logs at WARN or above (an exception that reached the pipeline's
     * tail, a failed listener). Each as "logger: message (exception)".
     */
    public synchronized List<String> escapedExceptions() {
        List<String> out = new ArrayList<>();
        for (ILoggingEvent e : events) {
            IThrowableProxy t = e.getThrowableProxy();
            boolean netty = e.getLoggerName().startsWith("io.netty") && e.getLevel().isGreaterOrEqual(Level.WARN);
            if (t != null || netty) {
                out.add(e.getLoggerName() + ": " + e.getFormattedMessage()
                        + (t == null ? "" : " (" + t.getClassName() + ": " + t.getMessage() + ")"));
            }
        }
        return out;
    }

    @Override
    public void close() {
        muted.forEach(a -> root().addAppender(a));
        muted.clear();
        root().detachAppender(this);
        stop();
    }
}
