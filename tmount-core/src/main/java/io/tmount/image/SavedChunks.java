package io.tmount.image;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The durable half of a chunk cache: which chunks its saved {@link ChunkIndex} lists. The index only ever lists a
 * chunk whose bytes were synced before it was listed, and forgets a chunk before its bytes go: so a crash never
 * leaves a torn or punched chunk listed, it only forgets the chunks of the last second. Listing is batched off the
 * read path ({@link #scheduleFlush}); forgetting is batched per eviction ({@link #forget}).
 *
 * <p>Every change of a chunk's state that the index must agree with (a flush deciding what to list, an eviction
 * marking chunks absent) happens under this object's lock.
 */
final class SavedChunks {

    private static final Logger log = LoggerFactory.getLogger(SavedChunks.class);
    private static final long FLUSH_DELAY_MILLIS = 1000;

    private final ChunkIndex index;
    private final String key;
    private final BitSet durable; // guarded by this
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private final AtomicLong saves = new AtomicLong();
    private boolean closed; // guarded by this

    SavedChunks(ChunkIndex index, String key, BitSet durable) {
        this.index = index;
        this.key = key;
        this.durable = durable;
    }

    /** Flushes within a second, on a virtual thread, unless a flush is already scheduled. */
    void scheduleFlush(ChunkStates states, FileChannel data) {
        if (flushScheduled.compareAndSet(false, true)) {
            Thread.ofVirtual().name("cache-flush").start(() -> {
                try {
                    Thread.sleep(FLUSH_DELAY_MILLIS);
                    flushScheduled.set(false);
                    flush(states, data);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (IOException e) {
                    log.warn("cannot save the chunk index of {}: {}", key, e.getMessage());
                }
            });
        }
    }

    /**
     * Syncs the data file, then lists in the saved index the chunks that were present before the sync: the index
     * never names a chunk whose bytes might not be on disk.
     */
    synchronized void flush(ChunkStates states, FileChannel data) throws IOException {
        if (closed) {
            return;
        }
        BitSet pending = new BitSet(states.count());
        for (int c = 0; c < states.count(); c++) {
            if (states.present(c) && !durable.get(c)) {
                pending.set(c);
            }
        }
        if (pending.isEmpty()) {
            return;
        }
        data.force(false);
        for (int c = pending.nextSetBit(0); c >= 0; c = pending.nextSetBit(c + 1)) {
            if (states.present(c)) {
                durable.set(c);
            }
        }
        save();
    }

    /**
     * Marks absent those of {@code held} (chunks the caller holds for eviction) that are present, and makes the saved
     * index forget them with one write. When the index can be neither rewritten nor deleted, the chunks stay present
     * (their bytes must not go while a listed chunk points at them) and none is returned. Returns the chunks whose
     * bytes may now go.
     */
    synchronized List<Integer> forget(ChunkStates states, List<Integer> held) {
        List<Integer> gone = new ArrayList<>();
        boolean listed = false;
        for (int chunk : held) {
            if (states.present(chunk)) {
                states.markAbsent(chunk);
                listed |= durable.get(chunk);
                gone.add(chunk);
            }
        }
        if (!listed) {
            return gone;
        }
        BitSet before = (BitSet) durable.clone();
        gone.forEach(durable::clear);
        try {
            save();
        } catch (IOException saveFailed) {
            try {
                index.delete(); // needs no space: after a crash the cache starts empty, the next flush lists again
                durable.clear();
                log.warn("cannot save the chunk index of {} ({}); deleted it: this cache starts empty after a crash",
                        key, saveFailed.getMessage());
            } catch (IOException deleteFailed) {
                durable.or(before);
                gone.forEach(states::markPresent);
                log.warn("cannot evict from the chunk cache of {}: its index can be neither saved ({}) nor deleted "
                        + "({}); its chunks stay", key, saveFailed.getMessage(), deleteFailed.getMessage());
                return List.of();
            }
        }
        return gone;
    }

    /** Flushes what is pending and refuses later flushes. */
    synchronized void close(ChunkStates states, FileChannel data) throws IOException {
        try {
            flush(states, data);
        } finally {
            closed = true;
        }
    }

    /** How many times the index was written, for tests of the batching. */
    long saves() {
        return saves.get();
    }

    private void save() throws IOException {
        saves.incrementAndGet();
        index.save(durable);
    }
}
