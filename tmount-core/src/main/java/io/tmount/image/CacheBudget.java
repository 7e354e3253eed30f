package io.tmount.image;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The disk budget shared by every chunk cache: when the chunks present exceed {@code maxBytes}, the least recently
 * used chunks that nobody is reading are evicted until the total is back under 90% of the budget. Reads stamp chunks
 * with a logical clock, lock-free; only eviction takes a lock.
 */
public final class CacheBudget {

    private static final Logger log = LoggerFactory.getLogger(CacheBudget.class);

    /** What one reclaim frees at least: a full disk is rarely short of one block only, and each reclaim scans. */
    private static final long RECLAIM_MIN_BYTES = 32L << 20;

    private final long maxBytes;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong clock = new AtomicLong();
    private final Set<ChunkCache> caches = ConcurrentHashMap.newKeySet();
    private final Object evicting = new Object();
    private final java.util.concurrent.atomic.AtomicLong evictedBytes = new java.util.concurrent.atomic.AtomicLong();
    private final FetchBuffers buffers = new FetchBuffers();

    public CacheBudget(long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("cache budget (" + maxBytes + ") must be positive");
        }
        this.maxBytes = maxBytes;
    }

    public long maxBytes() {
        return maxBytes;
    }

    /** Bytes of chunks evicted since this budget was made. */
    public long evictedBytes() {
        return evictedBytes.get();
    }

    public long usedBytes() {
        return used.get();
    }

    /** Direct buffers for chunk fetches, reused so a cold read does not allocate a chunk of native memory per fetch. */
    FetchBuffers buffers() {
        return buffers;
    }

    long tick() {
        return clock.incrementAndGet();
    }

    void register(ChunkCache cache, long presentBytes) {
        caches.add(cache);
        used.addAndGet(presentBytes);
    }

    void unregister(ChunkCache cache, long presentBytes) {
        if (caches.remove(cache)) {
            used.addAndGet(-presentBytes);
        }
    }

    /** A chunk became present; evicts if the budget is exceeded. */
    void added(long bytes) {
        if (used.addAndGet(bytes) > maxBytes) {
            evict();
        }
    }

    void removed(long bytes) {
        used.addAndGet(-bytes);
    }

    private record Candidate(ChunkCache cache, int chunk, long lastUse) {
    }

    private void evict() {
        synchronized (evicting) {
            if (used.get() <= maxBytes) {
                return;
            }
            evictDownTo(maxBytes - maxBytes / 10);
        }
    }

    /**
     * Evicts at least {@code bytes} (when there are that many nobody is reading), least recently used first: the disk
     * is full, and what the cache holds can be fetched again while an overlay's writes cannot be made again. Returns
     * the bytes freed.
     */
    public long reclaim(long bytes) {
        synchronized (evicting) {
            long before = used.get();
            evictDownTo(Math.max(0, before - Math.max(bytes, RECLAIM_MIN_BYTES)));
            long freed = before - used.get();
            log.warn("the state dir's disk is full: evicted {} bytes of cached chunks to make room", freed);
            return freed;
        }
    }

    /**
     * Evicts the least recently used chunks nobody is reading until {@code target} is reached, in rounds: each round
     * takes just enough of the next candidates, in one batch per cache so each cache's saved index is written once;
     * what a round could not take (pinned since the scan, or an index that cannot be written) the next round makes
     * up from the candidates after it, until the target is met or none is left.
     */
    private void evictDownTo(long target) {
        List<Candidate> candidates = new ArrayList<>();
        for (ChunkCache cache : caches) {
            cache.forEachEvictable((chunk, lastUse) -> candidates.add(new Candidate(cache, chunk, lastUse)));
        }
        candidates.sort(Comparator.comparingLong(Candidate::lastUse));
        long freed = 0;
        int next = 0;
        while (used.get() > target && next < candidates.size()) {
            Map<ChunkCache, List<Integer>> batches = new LinkedHashMap<>();
            for (long toFree = used.get() - target; toFree > 0 && next < candidates.size(); next++) {
                Candidate c = candidates.get(next);
                batches.computeIfAbsent(c.cache(), k -> new ArrayList<>()).add(c.chunk());
                toFree -= c.cache().chunkLength(c.chunk());
            }
            for (Map.Entry<ChunkCache, List<Integer>> batch : batches.entrySet()) {
                long bytes = batch.getKey().evict(batch.getValue());
                freed += bytes;
                evictedBytes.addAndGet(bytes);
            }
        }
        log.debug("evicted {} bytes; cache now {} of {} bytes", freed, used.get(), maxBytes);
    }
}
