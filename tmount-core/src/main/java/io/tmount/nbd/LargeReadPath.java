package io.tmount.nbd;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Chooses, for one connection, how its large reads of local data go out: sent by the reader straight from the file
 * (sendfile), or copied through a buffer by a thread of their own, several at once (as nbdkit does). Which is faster
 * depends on the host: sendfile to a unix socket won by 1.3-1.5x on the hosts measured, yet an idle host of the same
 * kind gave it 0.62x of nbdkit's copying. So the connection measures both: probes of {@link #WINDOW_BYTES} each,
 * alternating (sendfile, copy, sendfile, copy), each timed from its first read's start to its last read's reply, the
 * next probe starting only when the last one's reads are all answered; then it keeps the faster (copy only when
 * {@link #COPY_MARGIN} faster: sendfile costs this process less CPU) for {@link #KEEP_BYTES} or {@link #KEEP_NANOS},
 * and measures again. A pause of the client within a probe (from the reader being done with one read to the next
 * one's arrival, longer than {@link #IDLE_NANOS} plus the read's time at 100 MB/s) voids it.
 * Called by the connection's reader; {@link Probe#answered} by any thread.
 */
final class LargeReadPath {

    static final long WINDOW_BYTES = 64L << 20;
    static final long KEEP_BYTES = 16L << 30;
    static final long KEEP_NANOS = 30_000_000_000L;
    static final long IDLE_NANOS = 20_000_000L;
    static final double COPY_MARGIN = 1.25;
    private static final int PROBES = 4; // even probes sendfile, odd ones copy

    /** How one read goes: by sendfile or copied, and the probe timing it (null: none). */
    record Choice(boolean sendfile, Probe probe) {
    }

    /** What the last measurement found, for logs. */
    record Rates(double sendfileBytesPerSecond, double copyBytesPerSecond, boolean sendfile) {
    }

    /** One probe: its reads' bytes and the time from the first one's start to the last one's reply. */
    static final class Probe {
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition done = lock.newCondition();
        private final boolean sendfile;
        private long start;
        private long end;
        private long bytes;
        private int pending;
        private boolean spoiled;

        private Probe(boolean sendfile) {
            this.sendfile = sendfile;
        }

        private void begin(long now, int length) {
            lock.lock();
            try {
                if (bytes == 0) {
                    start = now;
                }
                bytes += length;
                pending++;
            } finally {
                lock.unlock();
            }
        }

        /** A read of this probe has been answered (or has failed: the probe is then void). */
        void answered(long now, boolean ok) {
            lock.lock();
            try {
                end = Math.max(end, now);
                spoiled |= !ok;
                if (--pending == 0) {
                    done.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }

        /** Waits until every read begun is answered. */
        private void awaitAnswered() {
            lock.lock();
            try {
                while (pending > 0) {
                    done.awaitUninterruptibly();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    private final long windowBytes;
    private final long keepBytes;
    private final long keepNanos;
    private final long[] probeBytes = new long[2]; // [sendfile, copy]: totals over this measurement's probes
    private final long[] probeNanos = new long[2];
    private Probe probe; // the running probe; null while keeping a choice
    private int probeIndex;
    private final LongSupplier clock;
    private long readerFree; // when the reader was last done with a large read; 0: never
    private Probe copies; // while keeping copying: the copies since the choice
    private boolean sendfile = true;
    private long keptBytes;
    private long keptSince;
    private Rates rates;

    LargeReadPath() {
        this(WINDOW_BYTES, KEEP_BYTES, KEEP_NANOS, System::nanoTime, true);
    }

    /**
     * {@code warmUp}: the connection's first window is sent by sendfile and not counted, so neither the client's
     * start nor code not yet compiled is taken for a path's speed (a fresh daemon's first measurement gave sendfile
     * 152 MiB/s where it then ran at 2300).
     */
    LargeReadPath(long windowBytes, long keepBytes, long keepNanos, LongSupplier clock, boolean warmUp) {
        this.clock = clock;
        this.windowBytes = windowBytes;
        this.keepBytes = keepBytes;
        this.keepNanos = keepNanos;
        this.probe = new Probe(true);
        this.probeIndex = warmUp ? -1 : 0;
    }

    /**
     * The path of the next large read of {@code length} bytes; may wait for the reads of the last probe (or, before
     * measuring again, for the copies made since the last measurement), so probes never overlap.
     */
    Choice next(int length) {
        long now = clock.getAsLong();
        // a pause of the client: longer than its read would take at a slow 100 MB/s, on top of IDLE_NANOS
        boolean idle = readerFree != 0 && now - readerFree > IDLE_NANOS + 10L * length;
        if (probe == null) {
            keptBytes += length;
            if (keptBytes < keepBytes && now - keptSince < keepNanos) {
                return kept(now, length);
            }
            if (copies != null) {
                copies.awaitAnswered();
                copies = null;
            }
            probeIndex = 0;
            probe = new Probe(true);
            clearTotals();
        } else if (probe.bytes >= windowBytes) {
            probe.awaitAnswered();
            finish(probe);
            if (++probeIndex == PROBES) {
                long decided = clock.getAsLong();
                decide(decided);
                keptBytes = length;
                return kept(decided, length);
            }
            probe = new Probe(probeIndex % 2 == 0);
        } else if (idle) {
            probe.awaitAnswered();
            probe = new Probe(probe.sendfile); // the client paused: this probe measured the pause, not a path
        }
        probe.begin(clock.getAsLong(), length); // after any wait: a probe times its own reads only
        return new Choice(probe.sendfile, probe);
    }

    /** A read on the kept path; copies are tracked, so the next measurement starts when they are answered. */
    private Choice kept(long now, int length) {
        if (sendfile) {
            return new Choice(true, null);
        }
        if (copies == null) {
            copies = new Probe(false);
        }
        copies.begin(now, length);
        return new Choice(false, copies);
    }

    /** The reader is done with a large read (sent it, or handed it to a thread): until the next, the client's time. */
    void readerDone() {
        readerFree = clock.getAsLong();
    }

    private void finish(Probe done) {
        if (probeIndex < 0) {
            return; // the warm-up
        }
        if (done.spoiled) {
            probeIndex--; // measured again
            return;
        }
        int path = done.sendfile ? 0 : 1;
        probeBytes[path] += done.bytes;
        probeNanos[path] += Math.max(1, done.end - done.start);
    }

    private void decide(long now) {
        double sendfileRate = probeBytes[0] * 1e9 / Math.max(1, probeNanos[0]);
        double copyRate = probeBytes[1] * 1e9 / Math.max(1, probeNanos[1]);
        sendfile = copyRate < sendfileRate * COPY_MARGIN;
        rates = new Rates(sendfileRate, copyRate, sendfile);
        probe = null;
        keptSince = now;
    }

    private void clearTotals() {
        probeBytes[0] = probeBytes[1] = 0;
        probeNanos[0] = probeNanos[1] = 0;
    }

    /** The last measurement's rates and choice; null before the first one ends. */
    Rates rates() {
        return rates;
    }
}
