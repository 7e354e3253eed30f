package io.tmount.daemon;

/**
 * What a prefetch did: the build, whose read trace it replayed (null: none was recorded for it or its ancestors), how
 * many chunks that trace held, the bytes it made local (trace and, with --all, everything mapped), and how long.
 */
public record PrefetchResult(String buildId, String traceOf, int traceChunks, long bytes, double seconds) {
}
