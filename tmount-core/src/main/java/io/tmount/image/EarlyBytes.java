package io.tmount.image;

import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One chunk's bytes as its fetch receives them, for readers that need only part of the chunk: a reader whose range
 * has arrived copies it from the fetch's buffer at once, instead of waiting for the whole chunk and its write into the
 * cache. A fetch that a reader started may ask for the chunk from that reader's place on first and for the part
 * before it after (see {@link ChunkFetcher}), so a 4 KiB read in the middle of a 4 MiB chunk from S3 waits for the
 * time to a first byte and a few KiB, not for half the chunk. Bytes count as
 * arrived only once final: a source that checks digests says so only after the check. The fetch ends it before its
 * buffer goes back to the pool, and that waits for the readers copying; readers still waiting then read the cache.
 */
final class EarlyBytes {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private ByteBuffer buffer; // the fetch's, from its start; null before
    private int split; // the fetch asks for [split, limit) first, then [0, split); 0: in one go from the start
    private int arrived; // bytes from the chunk's start that are final (at most split, when split)
    private int tail; // the end of the final bytes from split on
    private volatile int wanted = -1; // where the first reader of a fetch not yet started needs bytes
    private boolean ended; // the fetch is over (or never ran): readers go to the cache
    private int copying;

    /** A reader needs the bytes at {@code from}: a fetch not started yet may begin there (the first reader's say). */
    void want(int from) {
        if (wanted < 0) {
            wanted = from;
        }
    }

    /** Where the first reader needs bytes, or -1 when none said so (read-ahead, prefetch). */
    int wanted() {
        return wanted;
    }

    /** The fetch has begun filling {@code buffer} from the chunk's start. */
    void started(ByteBuffer buffer) {
        started(buffer, 0);
    }

    /** The fetch has begun filling {@code buffer}: {@code [split, limit)} first, then {@code [0, split)}. */
    void started(ByteBuffer buffer, int split) {
        lock.lock();
        try {
            this.buffer = buffer;
            this.split = split;
            this.arrived = 0;
            this.tail = split;
        } finally {
            lock.unlock();
        }
    }

    /** The first {@code position} bytes of the buffer are final. */
    void arrived(int position) {
        lock.lock();
        try {
            if (position > arrived) {
                arrived = position;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The bytes of the buffer from the split up to {@code position} are final. */
    void arrivedFromSplit(int position) {
        lock.lock();
        try {
            if (position > tail) {
                tail = position;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code [from, end)} is final (under the lock). */
    private boolean isFinal(int from, int end) {
        if (split == 0) {
            return arrived >= end;
        }
        boolean head = end <= split ? arrived >= end : from >= split || arrived >= split;
        return head && (end <= split || tail >= end);
    }

    /**
     * Copies the chunk's bytes from {@code from} into all of {@code dst} once they have arrived while the rest of the
     * chunk has not; false, leaving {@code dst} as it was, when the whole chunk arrived or the fetch ended first (the
     * bytes are then in the cache, or the fetch failed). So a source that says only at the end (a local file, a
     * digest check) keeps its readers waiting for the cache as before.
     */
    boolean copy(int from, ByteBuffer dst) throws InterruptedIOException {
        int length = dst.remaining();
        lock.lock();
        try {
            while (!ended && (buffer == null || !isFinal(from, from + length))) {
                changed.await();
            }
            if (ended || isFinal(0, buffer.limit())) {
                return false; // the whole chunk is there: it is cached and counted in a moment, read it from there
            }
            copying++;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a chunk's bytes");
        } finally {
            lock.unlock();
        }
        try {
            dst.put(dst.position(), buffer, from, length); // absolute: the fetch goes on filling what follows
            dst.position(dst.position() + length);
            return true;
        } finally {
            lock.lock();
            try {
                if (--copying == 0) {
                    changed.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** The fetch is over: no more copies from its buffer; returns once none is running. Idempotent. */
    void end() {
        lock.lock();
        try {
            ended = true;
            changed.signalAll();
            while (copying > 0) {
                changed.awaitUninterruptibly();
            }
            buffer = null;
        } finally {
            lock.unlock();
        }
    }
}
