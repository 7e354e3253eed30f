package io.tmount.image;

import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One chunk's bytes as its fetch receives them, for readers that need only part of the chunk: a reader whose range
 * has arrived copies it from the fetch's buffer at once, instead of waiting for the whole chunk and its write into the
 * cache (a 4 KiB read in the middle of a 4 MiB chunk from S3 waits for about half of it, not all). Bytes count as
 * arrived only once final: a source that checks digests says so only after the check. The fetch ends it before its
 * buffer goes back to the pool, and that waits for the readers copying; readers still waiting then read the cache.
 */
final class EarlyBytes {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private ByteBuffer buffer; // the fetch's, from its start; null before
    private int arrived; // bytes from the chunk's start that are final
    private boolean ended; // the fetch is over (or never ran): readers go to the cache
    private int copying;

    /** The fetch has begun filling {@code buffer} from the chunk's start. */
    void started(ByteBuffer buffer) {
        lock.lock();
        try {
            this.buffer = buffer;
            this.arrived = 0;
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
            while (!ended && (buffer == null || arrived < from + length)) {
                changed.await();
            }
            if (ended || arrived >= buffer.limit()) {
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
