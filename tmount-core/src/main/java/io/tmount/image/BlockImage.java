package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * A block device as bytes: what the NBD server exports. Offsets and lengths are checked by the caller
 * (the NBD layer rejects requests outside {@code [0, size)}), so implementations may trust them.
 * Implementations are safe for concurrent use.
 */
public interface BlockImage extends AutoCloseable {

    long size();

    /** Fills {@code dst.remaining()} bytes from {@code offset}. */
    void read(ByteBuffer dst, long offset) throws IOException;

    /** Writes all of {@code src.remaining()} bytes at {@code offset}. */
    void write(ByteBuffer src, long offset) throws IOException;

    /** A hint that the range is no longer needed; its content is undefined afterwards. */
    void trim(long offset, long length) throws IOException;

    /** Makes the range read as zeros; {@code allocate} asks for the space to stay provisioned (no hole). */
    void writeZeroes(long offset, long length, boolean allocate) throws IOException;

    /** Makes every completed write durable. */
    void flush() throws IOException;

    /**
     * How {@code [offset, offset + length)} is allocated, as consecutive extents from {@code offset}: at least one,
     * covering the range or a prefix of it (long answers stop early). By default everything is data.
     */
    default List<Extent> extents(long offset, long length) throws IOException {
        return List.of(new Extent(length, 0));
    }

    /**
     * Whether reading the range needs nothing but local storage (no fetch from a store, no waiting for another
     * reader): the NBD server then answers small reads on the connection's own thread. False when unsure.
     */
    default boolean readsLocally(long offset, long length) {
        return false;
    }

    /** Whether writing the range needs nothing but local storage (as {@link #readsLocally}). */
    default boolean writesLocally(long offset, long length) {
        return false;
    }

    /**
     * Whether {@link #transferTo} can send the range straight from a local file (sendfile: no copy through this
     * process). False when unsure.
     */
    default boolean transfersDirectly(long offset, long length) {
        return false;
    }

    /**
     * Writes exactly the range's bytes to {@code target}: straight from a local file where {@link #transfersDirectly}
     * says so, through a buffer otherwise. Returns the nanoseconds it spent waiting for the target to take bytes, so
     * the rest measures the storage. A failure may leave part of the range written.
     */
    default long transferTo(long offset, int length, WritableByteChannel target) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        read(buffer, offset);
        buffer.flip();
        long start = System.nanoTime();
        while (buffer.hasRemaining()) {
            target.write(buffer);
        }
        return System.nanoTime() - start;
    }

    /** Brings the range into local storage ahead of use (NBD_CMD_CACHE); local images have nothing to do. */
    default void cache(long offset, long length) throws IOException {
    }

    @Override
    void close() throws IOException;
}
