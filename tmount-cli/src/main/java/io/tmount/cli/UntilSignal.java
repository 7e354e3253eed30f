package io.tmount.cli;

import sun.misc.Signal;

import java.util.concurrent.CountDownLatch;

/**
 * For commands that run until SIGINT or SIGTERM (serve, export --foreground): release, then return so the command
 * exits 0. The signals are handled rather than left to the JVM's shutdown: a shutdown hook that released and then
 * halted to exit 0 skipped the JVM's own exit work, leaving a native library the LZ4 codec unpacks in /tmp behind at
 * every stop.
 */
final class UntilSignal {

    interface Release {
        void run() throws Exception;
    }

    private UntilSignal() {
    }

    /** Blocks until SIGINT or SIGTERM, then runs {@code release}; a second signal while it runs changes nothing. */
    static void await(Release release) throws Exception {
        CountDownLatch signalled = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), signal -> signalled.countDown());
        Signal.handle(new Signal("INT"), signal -> signalled.countDown());
        signalled.await();
        release.run();
    }
}
