package io.tmount.prefetch;

import io.tmount.image.BuildImages;
import io.tmount.image.LayeredImage;
import io.tmount.progress.Progress;
import io.tmount.store.BuildId;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.List;

/**
 * Warms this host's caches for a build ahead of use ({@code tmount prefetch}): its read trace (or its nearest
 * ancestor's) first, then, if asked, everything it maps, rate-limited, always behind the readers of mounts.
 */
public final class Warmer {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Warmer.class);

    private final BuildImages images;
    private final Traces traces;

    /** {@code traces}: null where traces are off. */
    public Warmer(BuildImages images, Traces traces) {
        this.images = images;
        this.traces = traces;
    }

    /** What it did, and whether there was a trace to replay. */
    public record Warmed(Prefetcher.Result result, BuildId traceOf) {
    }

    /**
     * Warms {@code builds} one after another on a thread of its own (a daemon's start): each one's trace, then all of
     * it at {@code bytesPerSecond} at most (0: no limit); says in the log how each went. Interrupt the thread to stop.
     */
    public Thread warmInBackground(List<BuildId> builds, long bytesPerSecond) {
        return Thread.ofVirtual().name("prefetch-at-start").start(() -> {
            for (BuildId build : builds) {
                if (Thread.currentThread().isInterrupted()) {
                    return;
                }
                try {
                    Warmed warmed = warm(build, true, bytesPerSecond, Progress.NONE);
                    log.info("prefetched build {} at start: {} bytes in {} s{}", build, warmed.result().bytes(),
                            warmed.result().took().toMillis() / 1000.0, warmed.traceOf() == null ? ""
                                    : " (the read trace of " + warmed.traceOf() + " first)");
                } catch (InterruptedIOException e) {
                    return; // shutting down
                } catch (IOException | RuntimeException e) {
                    log.warn("cannot prefetch build {} at start: {}", build, e.getMessage());
                }
            }
        });
    }

    public Warmed warm(BuildId build, boolean all, long bytesPerSecond, Progress progress) throws IOException {
        LayeredImage image = images.open(images.layout(build));
        Traces.Found found = traces == null ? null : traces.find(build, images.store()).orElse(null);
        Prefetcher.Result result = Prefetcher.warm(image, found == null ? null : found.trace(), all, images.chunkSize(),
                bytesPerSecond, progress);
        return new Warmed(result, found == null ? null : found.recordedFor());
    }
}
