package io.tmount.image;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Which of an overlay's blocks are its own data and which read as zeros (the rest reads from the image below): two
 * bit maps that change together. A block's two bits change under the shared side of a lock; a snapshot for a flush
 * takes the exclusive side, so the saved maps never pair a block's old bit in one map with its new bit in the other
 * (which could read it from below).
 */
final class OverlayBlocks {

    /** Both maps at one moment, for a flush. */
    record Snapshot(long[] owned, long[] zeroed) {
    }

    private final long blocks;
    private final AtomicBits owned;
    private final AtomicBits zeroed;
    /** Blocks claimed or zeroed since the overlay was opened or last {@linkplain #mark marked}. */
    private final AtomicBits touched;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    OverlayBlocks(long blocks, OverlayMap.Saved saved) {
        this.blocks = blocks;
        this.owned = saved == null ? new AtomicBits(blocks) : new AtomicBits(blocks, saved.owned());
        this.zeroed = saved == null ? new AtomicBits(blocks) : new AtomicBits(blocks, saved.zeroed());
        this.touched = new AtomicBits(blocks, saved == null ? new long[0] : or(saved.owned(), saved.zeroed()));
    }

    private static long[] or(long[] a, long[] b) {
        long[] out = java.util.Arrays.copyOf(a, Math.max(a.length, b.length));
        for (int i = 0; i < b.length; i++) {
            out[i] |= b[i];
        }
        return out;
    }

    Overlay.Source source(long block) {
        if (zeroed.get(block)) {
            return Overlay.Source.ZERO;
        }
        return owned.get(block) ? Overlay.Source.OWN : Overlay.Source.BELOW;
    }

    /** Blocks from..to-1, whose data is written, become the overlay's own. */
    void claim(long from, long to) {
        lock.readLock().lock();
        try {
            owned.set(from, to);
            zeroed.clear(from, to);
            touched.set(from, to);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Blocks from..to-1 read as zeros from now on. */
    void zero(long from, long to) {
        lock.readLock().lock();
        try {
            zeroed.set(from, to);
            owned.clear(from, to);
            touched.set(from, to);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Where the block reads from, counting only what changed since the last mark: older changes read as below. */
    Overlay.Source sourceSinceMark(long block) {
        return touched.get(block) ? source(block) : Overlay.Source.BELOW;
    }

    /** From now on, only later changes count as changed since the mark. */
    void mark() {
        lock.writeLock().lock();
        try {
            touched.clear(0, blocks);
        } finally {
            lock.writeLock().unlock();
        }
    }

    Snapshot snapshot() {
        lock.writeLock().lock();
        try {
            return new Snapshot(owned.snapshot(), zeroed.snapshot());
        } finally {
            lock.writeLock().unlock();
        }
    }

    long ownCount() {
        return owned.cardinality();
    }

    /** Own blocks changed since the last mark. */
    long ownCountSinceMark() {
        return owned.cardinalityAnd(touched);
    }

    long zeroCount() {
        return zeroed.cardinality();
    }

    /** Whether a block beyond block 0 is the overlay's own or zeroed. */
    boolean changedBeyondFirstBlock() {
        for (long block = 1; block < blocks; block++) {
            if (source(block) != Overlay.Source.BELOW) {
                return true;
            }
        }
        return false;
    }

    /** The longest run of blocks of one source from byte {@code position}, cut at {@code end}: the one walk of the map. */
    Overlay.Run runAt(long position, long end) {
        return runAt(position, end, false);
    }

    /** The same, with {@code sinceMark}: changes before the last mark read as below (see {@link #sourceSinceMark}). */
    Overlay.Run runAt(long position, long end, boolean sinceMark) {
        Overlay.Source source = sourceOf(position / Overlay.BLOCK, sinceMark);
        long runEnd = Math.min(end, (position / Overlay.BLOCK + 1) * Overlay.BLOCK);
        while (runEnd < end && sourceOf(runEnd / Overlay.BLOCK, sinceMark) == source) {
            runEnd = Math.min(end, runEnd + Overlay.BLOCK);
        }
        return new Overlay.Run(source, position, runEnd);
    }

    private Overlay.Source sourceOf(long block, boolean sinceMark) {
        return sinceMark ? sourceSinceMark(block) : source(block);
    }

    /** Where the range's first block from below begins (the range's start at most), or -1 when it has none. */
    long firstBelow(long offset, long length) {
        long end = offset + length;
        for (long block = offset / Overlay.BLOCK; block * Overlay.BLOCK < end; block++) {
            if (source(block) == Overlay.Source.BELOW) {
                return Math.max(offset, block * Overlay.BLOCK); // the rest is asked of below at once: cheap, rarely wrong
            }
        }
        return -1;
    }
}
