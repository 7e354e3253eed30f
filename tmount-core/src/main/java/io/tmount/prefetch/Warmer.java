package io.tmount.prefetch;

import io.tmount.image.BuildImages;
import io.tmount.image.LayeredImage;
import io.tmount.progress.Progress;
import io.tmount.store.BuildId;

import java.io.IOException;

/**
 * Warms this host's caches for a build ahead of use ({@code tmount prefetch}): its read trace (or its nearest
 * ancestor's) first, then, if asked, everything it maps, rate-limited, always behind the readers of mounts.
 */
public final class Warmer {

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

    public Warmed warm(BuildId build, boolean all, long bytesPerSecond, Progress progress) throws IOException {
        LayeredImage image = images.open(images.layout(build));
        Traces.Found found = traces == null ? null : traces.find(build, images.store()).orElse(null);
        Prefetcher.Result result = Prefetcher.warm(image, found == null ? null : found.trace(), all, images.chunkSize(),
                bytesPerSecond, progress);
        return new Warmed(result, found == null ? null : found.recordedFor());
    }
}
