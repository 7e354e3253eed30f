package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A block device as bytes: what the NBD server exports. Offsets and lengths are checked by the caller
 * (the NBD layer rejects requests outside {@code [0, size)}), so implementations may trust them.
 * Implementations are safe for concurrent use. An image that can tell which ranges it holds locally implements
 * {@link LocalAccess} too, for the NBD server's fast path.
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

    /** Brings the range into local storage ahead of use (NBD_CMD_CACHE); local images have nothing to do. */
    default void cache(long offset, long length) throws IOException {
    }

    @Override
    void close() throws IOException;
}
