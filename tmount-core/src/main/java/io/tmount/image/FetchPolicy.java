package io.tmount.image;

import java.time.Duration;

/**
 * How builds' chunks are fetched from the store.
 *
 * @param copyLocalStore  copy the chunks of a store on this host into the chunk cache, as for a remote store, instead
 *                        of reading the store's files directly (for a store folder on a network filesystem, whose
 *                        reads cost more than a local cache's)
 * @param fetches         chunk fetches in flight at once over all builds, read-ahead and prefetch; a reader's own
 *                        fetch always starts at once, and counts
 * @param fetchesPerBuild of them, at most this many for one build object
 * @param readAhead       chunks fetched ahead of a sequential reader at most (the window doubles up to it)
 * @param traceWindow     how long after a mount its reads are recorded in its build's read trace, which the next
 *                        mounts of the build (and of builds layered on it) prefetch; zero: no traces at all
 */
public record FetchPolicy(boolean copyLocalStore, int fetches, int fetchesPerBuild, int readAhead,
                          Duration traceWindow) {

    /** Sized for an object store: S3 and GCS serve tens of MB/s per connection and scale with connections. */
    public static final FetchPolicy DEFAULT = new FetchPolicy(false, 16, 8, 8, Duration.ofSeconds(60));

    public FetchPolicy {
        if (fetches < 1 || fetchesPerBuild < 1) {
            throw new IllegalArgumentException("fetches (" + fetches + ") and fetches per build (" + fetchesPerBuild
                    + ") must be at least 1");
        }
        if (readAhead < 0 || readAhead > 1024) {
            throw new IllegalArgumentException("read-ahead (" + readAhead + " chunks) must be 0 to 1024");
        }
        if (traceWindow == null || traceWindow.isNegative()) {
            throw new IllegalArgumentException("the trace window (" + traceWindow + ") must be zero or more");
        }
    }

    public FetchPolicy withCopyLocalStore(boolean value) {
        return new FetchPolicy(value, fetches, fetchesPerBuild, readAhead, traceWindow);
    }

    public FetchPolicy withFetches(int total, int perBuild) {
        return new FetchPolicy(copyLocalStore, total, perBuild, readAhead, traceWindow);
    }

    public FetchPolicy withReadAhead(int chunks) {
        return new FetchPolicy(copyLocalStore, fetches, fetchesPerBuild, chunks, traceWindow);
    }

    public FetchPolicy withTraceWindow(Duration value) {
        return new FetchPolicy(copyLocalStore, fetches, fetchesPerBuild, readAhead, value);
    }
}
