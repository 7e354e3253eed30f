package io.tmount.image;

/**
 * Sequential-access detection for one reader of one chunk cache (one mount's view of one layer): when a read
 * starts in the chunk where the previous one ended, or the next, the following chunk is fetched ahead.
 */
public final class ReadAhead {

    private volatile long lastChunk = -2;

    /** Records a read of chunks {@code first..last}; returns the chunk worth fetching ahead, or -1. */
    long next(long first, long last) {
        long previous = lastChunk;
        lastChunk = last;
        return (first == previous || first == previous + 1) ? last + 1 : -1;
    }
}
