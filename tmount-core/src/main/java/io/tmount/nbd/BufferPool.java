package io.tmount.nbd;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Native buffers in power-of-two size classes, reused across requests so the I/O path does not allocate (a fresh
 * buffer costs page faults and zeroing). Idle buffers of all classes together stay within a byte budget; the rest,
 * and all of them once the pool is closed, are freed at once: each comes from an arena of its own, so memory the
 * pool lets go of goes back to the system without waiting for a garbage collection (with direct buffers a burst of
 * stalled clients left hundreds of MB allocated until one happened to run).
 */
final class BufferPool implements AutoCloseable {

    private static final int MIN_SHIFT = 12; // 4 KiB

    private final ConcurrentLinkedQueue<ByteBuffer>[] idle;
    private final AtomicLong idleBytes = new AtomicLong();
    private final long retainBytes;
    private final ConcurrentHashMap<Identity, Arena> arenas = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /** A buffer as a key: ByteBuffer's own equals and hashCode compare contents. */
    private record Identity(ByteBuffer buffer) {
        @Override
        public boolean equals(Object other) {
            return other instanceof Identity that && that.buffer == buffer;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(buffer);
        }
    }

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
            Arena arena = Arena.ofShared();
            try {
                buffer = arena.allocate(1L << (cls + MIN_SHIFT), 4096).asByteBuffer();
            } catch (OutOfMemoryError | RuntimeException e) {
                arena.close();
                throw e;
            }
            arenas.put(new Identity(buffer), arena);
        } else {
            idleBytes.addAndGet(-buffer.capacity());
        }
        return buffer.clear().limit(size);
    }

    void release(ByteBuffer buffer) {
        int cls = Integer.numberOfTrailingZeros(buffer.capacity()) - MIN_SHIFT;
        if (!closed && idleBytes.addAndGet(buffer.capacity()) <= retainBytes) {
            idle[cls].offer(buffer);
            if (closed) { // closed meanwhile: close() may have drained the queue before this offer
                drain();
            }
        } else {
            if (!closed) {
                idleBytes.addAndGet(-buffer.capacity());
            }
            free(buffer);
        }
    }

    /** Bytes held by idle buffers. */
    long idleBytes() {
        return idleBytes.get();
    }

    /** Bytes of all buffers allocated and not yet freed, idle or in use. */
    long allocatedBytes() {
        return arenas.keySet().stream().mapToLong(k -> k.buffer().capacity()).sum();
    }

    /** Frees the idle buffers; buffers in use are freed when they come back. */
    @Override
    public void close() {
        closed = true;
        drain();
    }

    private void drain() {
        for (ConcurrentLinkedQueue<ByteBuffer> queue : idle) {
            for (ByteBuffer buffer; (buffer = queue.poll()) != null; ) {
                idleBytes.addAndGet(-buffer.capacity());
                free(buffer);
            }
        }
    }

    private void free(ByteBuffer buffer) {
        Arena arena = arenas.remove(new Identity(buffer));
        if (arena != null) {
            arena.close();
        }
    }

    private static int shiftFor(int size) {
        int shift = size <= 1 ? 0 : 32 - Integer.numberOfLeadingZeros(size - 1);
        return Math.max(shift, MIN_SHIFT);
    }
}
