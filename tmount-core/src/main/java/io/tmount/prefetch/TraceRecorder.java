package io.tmount.prefetch;

import io.tmount.image.ReadObserver;

import java.util.BitSet;

/**
 * Records which device chunks a mount reads first, in order, for a window after the mount and up to a bound; reads
 * after the window or past the bound are not recorded (a long-running mount's later reads are not its start).
 */
final class TraceRecorder implements ReadObserver {

    private final int unit;
    private final long until;
    private final int max;
    private final BitSet seen = new BitSet(); // guarded by this
    private long[] chunks = new long[64]; // guarded by this
    private int count; // guarded by this

    /** Records until {@code untilNanos} ({@link System#nanoTime}), at most {@code max} chunks of {@code unit} bytes. */
    TraceRecorder(int unit, long untilNanos, int max) {
        this.unit = unit;
        this.until = untilNanos;
        this.max = max;
    }

    @Override
    public void read(long offset, long length) {
        if (length <= 0 || System.nanoTime() - until > 0) {
            return;
        }
        long first = offset / unit;
        long last = (offset + length - 1) / unit;
        synchronized (this) {
            for (long c = first; c <= last && count < max; c++) {
                if (c <= Integer.MAX_VALUE && !seen.get((int) c)) {
                    seen.set((int) c);
                    if (count == chunks.length) {
                        chunks = java.util.Arrays.copyOf(chunks, count * 2);
                    }
                    chunks[count++] = c;
                }
            }
        }
    }

    synchronized Trace trace() {
        return new Trace(unit, java.util.Arrays.copyOf(chunks, count));
    }
}
