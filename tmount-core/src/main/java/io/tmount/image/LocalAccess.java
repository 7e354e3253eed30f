package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * What an image can say about ranges it holds locally, for the NBD server's fast path: it answers such reads and
 * writes on the connection's own thread, and sends whole ranges straight from a file (sendfile). An optional
 * capability: the server asks {@code image instanceof LocalAccess}, and an image without it is served on the slow
 * path (a thread per request), correct and never blocking a reader on the store. Every answer is "false when unsure".
 */
public interface LocalAccess {

    /**
     * Whether reading the range needs nothing but local storage (no fetch from a store, no waiting for another
     * reader).
     */
    boolean readsLocally(long offset, long length);

    /** Whether writing the range needs nothing but local storage (as {@link #readsLocally}). */
    boolean writesLocally(long offset, long length);

    /** Whether {@link #transferTo} can send the range straight from a local file (no copy through this process). */
    boolean transfersDirectly(long offset, long length);

    /**
     * Writes exactly the range's bytes to {@code target}: straight from a local file where {@link #transfersDirectly}
     * says so, through a buffer otherwise. Returns the nanoseconds it spent waiting for the target to take bytes, so
     * the rest measures the storage. A failure may leave part of the range written.
     */
    long transferTo(long offset, int length, WritableByteChannel target) throws IOException;

    /** {@link #transferTo} for any image: through {@code image}'s local access when it has it, else a buffer. */
    static long transfer(BlockImage image, long offset, int length, WritableByteChannel target) throws IOException {
        if (image instanceof LocalAccess local) {
            return local.transferTo(offset, length, target);
        }
        ByteBuffer buffer = ByteBuffer.allocate(length);
        image.read(buffer, offset);
        buffer.flip();
        long start = System.nanoTime();
        while (buffer.hasRemaining()) {
            target.write(buffer);
        }
        return System.nanoTime() - start;
    }

    static boolean readsLocally(BlockImage image, long offset, long length) {
        return image instanceof LocalAccess local && local.readsLocally(offset, length);
    }

    static boolean transfersDirectly(BlockImage image, long offset, long length) {
        return image instanceof LocalAccess local && local.transfersDirectly(offset, length);
    }
}
