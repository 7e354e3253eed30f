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
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    OverlayBlocks(long blocks, OverlayMap.Saved saved) {
        this.blocks = blocks;
        this.owned = saved == null ? new AtomicBits(blocks) : new AtomicBits(blocks, saved.owned());
        this.zeroed = saved == null ? new AtomicBits(blocks) : new AtomicBits(blocks, saved.zeroed());
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
        } finally {
            lock.readLock().unlock();
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
        Overlay.Source source = source(position / Overlay.BLOCK);
        long runEnd = Math.min(end, (position / Overlay.BLOCK + 1) * Overlay.BLOCK);
        while (runEnd < end && source(runEnd / Overlay.BLOCK) == source) {
            runEnd = Math.min(end, runEnd + Overlay.BLOCK);
        }
        return new Overlay.Run(source, position, runEnd);
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
