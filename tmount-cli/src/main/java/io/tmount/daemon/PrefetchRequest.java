package io.tmount.daemon;

/**
 * POST /v1/prefetch: warm this host for a build: its read trace (or its nearest ancestor's), then, with {@code all},
 * everything it maps, at most {@code rateMBps} MB/s (null or 0: no limit).
 */
public record PrefetchRequest(String templateId, String buildId, boolean all, Double rateMBps) {
}
