package io.tmount.image;

/**
 * What one build object's data holds and has cost: bytes present locally, fetched from the store, hits. {@code direct}:
 * served straight from a local store's file, with no chunk cache (present is what has been checked against the
 * build's digests, all of it when it has none).
 */
public record CacheStats(String object, long objectBytes, long presentBytes, long fetchedBytes, long fetches,
                         long hits, boolean direct) {
}
