package io.tmount.image;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Which chunks of one cache are present, who is reading them and when they were last used: the lock-free half of the
 * pin/evict protocol. A reader pins a chunk before it looks at its state and unpins it after its last byte is read;
 * an eviction takes a chunk only when nobody holds a pin, by swapping the pin count 0 for {@link #EVICTING}, which
 * makes new pins wait until the eviction has let go. A chunk's fetch holds a pin too, so it never writes into a
 * chunk whose eviction is under way.
 */
final class ChunkStates {

    private static final int ABSENT = 0;
    private static final int PRESENT = 1;
    private static final int EVICTING = -1;

    private final AtomicIntegerArray state;
    private final AtomicIntegerArray pins;
    private final AtomicLongArray lastUse;

    ChunkStates(int chunkCount) {
        this.state = new AtomicIntegerArray(chunkCount);
        this.pins = new AtomicIntegerArray(chunkCount);
        this.lastUse = new AtomicLongArray(chunkCount);
    }

    int count() {
        return state.length();
    }

    boolean present(int chunk) {
        return state.get(chunk) == PRESENT;
    }

    /** Marks a chunk present: its bytes are in the cache file. */
    void markPresent(int chunk) {
        state.set(chunk, PRESENT);
    }

    /** Marks a chunk absent; only an eviction, holding the chunk, does. */
    void markAbsent(int chunk) {
        state.set(chunk, ABSENT);
    }

    void used(int chunk, long stamp) {
        lastUse.set(chunk, stamp);
    }

    /** Pins a chunk, waiting while an eviction holds it (an index write and a hole punch at most). */
    void pin(int chunk) {
        while (true) {
            int pinned = pins.get(chunk);
            if (pinned == EVICTING) {
                Thread.yield();
            } else if (pins.compareAndSet(chunk, pinned, pinned + 1)) {
                return;
            }
        }
    }

    void unpin(int chunk) {
        pins.decrementAndGet(chunk);
    }

    /** Takes a chunk for eviction when nobody has it pinned; the caller must {@link #release} it. */
    boolean holdForEviction(int chunk) {
        return pins.compareAndSet(chunk, 0, EVICTING);
    }

    void release(int chunk) {
        pins.set(chunk, 0);
    }

    /** Calls {@code visitor} with each present chunk nobody is reading, and when it was last used. */
    void forEachEvictable(ChunkVisitor visitor) {
        for (int c = 0; c < state.length(); c++) {
            if (state.get(c) == PRESENT && pins.get(c) == 0) {
                visitor.visit(c, lastUse.get(c));
            }
        }
    }

    interface ChunkVisitor {
        void visit(int chunk, long lastUse);
    }
}
