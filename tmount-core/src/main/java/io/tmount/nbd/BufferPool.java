package io.tmount.nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers in power-of-two size classes, reused across requests so the I/O path does not allocate (a fresh
 * direct buffer costs page faults and zeroing). Idle buffers of all classes together stay within a byte budget; the
 * rest go to the garbage collector.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12; // 4 KiB

    private final ConcurrentLinkedQueue<ByteBuffer>[] idle;
    private final AtomicLong idleBytes = new AtomicLong();
    private final long retainBytes;

    @SuppressWarnings("unchecked")
    BufferPool(int maxBufferBytes, long retainBytes) {
        int classes = shiftFor(maxBufferBytes) - MIN_SHIFT + 1;
        this.idle = new ConcurrentLinkedQueue[classes];
        for (int i = 0; i < classes; i++) {
            idle[i] = new ConcurrentLinkedQueue<>();
        }
        this.retainBytes = retainBytes;
    }

    /** A cleared buffer whose limit is {@code size}. */
    ByteBuffer acquire(int size) {
        int cls = shiftFor(size) - MIN_SHIFT;
        ByteBuffer buffer = idle[cls].poll();
        if (buffer == null) {
            buffer = ByteBuffer.allocateDirect(1 << (cls + MIN_SHIFT));
        } else {
            idleBytes.addAndGet(-buffer.capacity());
        }
        return buffer.clear().limit(size);
    }

    void release(ByteBuffer buffer) {
        int cls = Integer.numberOfTrailingZeros(buffer.capacity()) - MIN_SHIFT;
        if (idleBytes.addAndGet(buffer.capacity()) <= retainBytes) {
            idle[cls].offer(buffer);
        } else {
            idleBytes.addAndGet(-buffer.capacity());
        }
    }

    /** Bytes held by idle buffers. */
    long idleBytes() {
        return idleBytes.get();
    }

    private static int shiftFor(int size) {
        int shift = size <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(size - 1);
        return Math.max(shift, MIN_SHIFT);
    }
}
