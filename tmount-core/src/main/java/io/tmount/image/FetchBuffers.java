package io.tmount.image;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;

/** A few idle direct buffers of the chunk size, kept for the next fetches. */
final class FetchBuffers {

    private static final int KEEP = 16;

    private final ConcurrentLinkedQueue<ByteBuffer> idle = new ConcurrentLinkedQueue<>();

    /** A cleared buffer of at least {@code size} bytes. */
    ByteBuffer take(int size) {
        ByteBuffer buffer = idle.poll();
        while (buffer != null && buffer.capacity() < size) {
            buffer = idle.poll(); // made for a smaller chunk size: let it go
        }
        return buffer == null ? ByteBuffer.allocateDirect(size) : buffer.clear();
    }

    void give(ByteBuffer buffer) {
        if (idle.size() < KEEP) {
            idle.offer(buffer);
        }
    }
}
