package io.tmount.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/** Log levels: the daemon and demo log what they do (INFO); client commands only warnings; --debug shows all. */
final class Logging {

    private Logging() {
    }

    static void configure(boolean verbose, boolean debug) {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(debug ? Level.DEBUG : verbose ? Level.INFO : Level.WARN);
        ((Logger) LoggerFactory.getLogger("org.eclipse.jetty")).setLevel(debug ? Level.INFO : Level.WARN);
    }
}
