package io.tmount.nbd;

/**
 * Whether a connection's reader does a quick request itself (reads or writes of local data) or hands it to a thread
 * of its own. The reader does them while they take, on average, less than {@link #MAX_EXCESS_NANOS} beyond the time
 * their bytes take to copy (about 0.5 ns a byte, allowed for): the page cache answers in microseconds, a disk in a
 * hundred or more. Only requests the reader did count: a request on a thread also waits for the others running
 * beside it, so counting those kept a connection off the fast path long after one slow moment. Once closed, every
 * {@link #PROBE_EVERY}th request is done by the reader anyway, and one as quick as allowed opens the gate again.
 * Used by the reader only.
 */
final class InlineGate {

    static final long MAX_EXCESS_NANOS = 40_000;
    static final int PROBE_EVERY = 32;

    private long excess; // moving average of how much longer requests took than copying their bytes
    private int passed; // requests handed to threads since the last probe

    /** Whether the reader should do the next request itself. */
    boolean inline() {
        if (excess < MAX_EXCESS_NANOS) {
            return true;
        }
        if (++passed < PROBE_EVERY) {
            return false;
        }
        passed = 0;
        return true;
    }

    /** A request the reader did, which took {@code nanos} (beyond any wait for the client) for {@code bytes}. */
    void measured(long nanos, long bytes) {
        long sample = nanos - (bytes >> 1);
        excess = excess >= MAX_EXCESS_NANOS && sample < MAX_EXCESS_NANOS ? sample : excess + ((sample - excess) >> 3);
    }

    boolean open() {
        return excess < MAX_EXCESS_NANOS;
    }
}
