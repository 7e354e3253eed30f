package io.tmount.cli;

import java.util.concurrent.CountDownLatch;

/** For commands that run until SIGINT or SIGTERM (serve, export --foreground): release, then exit 0. */
final class UntilSignal {

    interface Release {
        void run() throws Exception;
    }

    private UntilSignal() {
    }

    /** Blocks until a signal; the shutdown hook runs {@code release} and ends the process with status 0. */
    static void await(Release release) throws InterruptedException {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                release.run();
            } catch (Exception e) {
                System.err.println("tmount: shutdown: " + e.getMessage());
            } finally {
                System.err.flush();
                // only a signal ends the command; having released everything, exit 0 rather than 128+signal
                Runtime.getRuntime().halt(0);
            }
        }, "tmount-shutdown"));
        new CountDownLatch(1).await();
    }
}
