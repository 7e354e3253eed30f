package io.tmount.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/** Log levels: the daemon and demo log what they do (INFO); client commands only warnings; --debug shows all. */
final class Logging {

    private Logging() {
    }

    /**
     * Switches the log lines on stderr to JSON, one object per line (logback's JsonEncoder: timestamp, level,
     * thread, logger, message, and the exception when there is one), for log collectors; or back to text.
     */
    static void format(boolean json) {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (!(root.getAppender("STDERR") instanceof ch.qos.logback.core.OutputStreamAppender<?> appender)) {
            return; // configured otherwise (a test's logback-test.xml): left alone
        }
        @SuppressWarnings("unchecked")
        var events = (ch.qos.logback.core.OutputStreamAppender<ch.qos.logback.classic.spi.ILoggingEvent>) appender;
        ch.qos.logback.core.encoder.Encoder<ch.qos.logback.classic.spi.ILoggingEvent> encoder;
        if (json) {
            var jsonEncoder = new ch.qos.logback.classic.encoder.JsonEncoder();
            jsonEncoder.setWithSequenceNumber(false);
            jsonEncoder.setWithNanoseconds(false);
            jsonEncoder.setWithContext(false);
            jsonEncoder.setWithFormattedMessage(true);
            encoder = jsonEncoder;
        } else {
            var pattern = new ch.qos.logback.classic.encoder.PatternLayoutEncoder();
            pattern.setPattern("%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n");
            encoder = pattern;
        }
        encoder.setContext(root.getLoggerContext());
        encoder.start();
        events.stop();
        events.setEncoder(encoder);
        events.start();
    }

    static void configure(boolean verbose, boolean debug) {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(debug ? Level.DEBUG : verbose ? Level.INFO : Level.WARN);
        ((Logger) LoggerFactory.getLogger("org.eclipse.jetty")).setLevel(debug ? Level.INFO : Level.WARN);
    }
}
