package io.tmount.nbd;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers in power-of-two size classes, reused across requests so the I/O path does not allocate.
 * Each class keeps at most a bounded number of idle buffers; the rest go to the garbage collector.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12; // 4 KiB

    private final ConcurrentLinkedQueue<ByteBuffer>[] idle;
    private final AtomicInteger[] idleCounts;
    private final long retainBytesPerClass;

    @SuppressWarnings("unchecked")
    BufferPool(int maxBufferBytes, long retainBytesPerClass) {
        int classes = shiftFor(maxBufferBytes) - MIN_SHIFT + 1;
        this.idle = new ConcurrentLinkedQueue[classes];
        this.idleCounts = new AtomicInteger[classes];
        for (int i = 0; i < classes; i++) {
            idle[i] = new ConcurrentLinkedQueue<>();
            idleCounts[i] = new AtomicInteger();
        }
        this.retainBytesPerClass = retainBytesPerClass;
    }

    /** A cleared buffer whose limit is {@code size}. */
    ByteBuffer acquire(int size) {
        int cls = shiftFor(size) - MIN_SHIFT;
        ByteBuffer buffer = idle[cls].poll();
        if (buffer == null) {
            buffer = ByteBuffer.allocateDirect(1 << (cls + MIN_SHIFT));
        } else {
            idleCounts[cls].decrementAndGet();
        }
        return buffer.clear().limit(size);
    }

    void release(ByteBuffer buffer) {
        int cls = Integer.numberOfTrailingZeros(buffer.capacity()) - MIN_SHIFT;
        long classBytes = (long) buffer.capacity();
        if (idleCounts[cls].incrementAndGet() * classBytes <= Math.max(retainBytesPerClass, classBytes)) {
            idle[cls].offer(buffer);
        } else {
            idleCounts[cls].decrementAndGet();
        }
    }

    private static int shiftFor(int size) {
        int shift = size <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(size - 1);
        return Math.max(shift, MIN_SHIFT);
    }
}
