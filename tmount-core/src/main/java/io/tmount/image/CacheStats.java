package io.tmount.image;

/** What one build object's chunk cache holds and has cost: bytes present locally, fetched from the store, hits. */
public record CacheStats(String object, long objectBytes, long presentBytes, long fetchedBytes, long fetches,
                         long hits) {
}
