package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.IntConsumer;

/**
 * Where a chunk cache fetches its bytes from: how one build's data is got out of the store. Stored objects are read
 * with ranged reads as they are ({@link StoredObject}); compressed ones frame by frame ({@link FramedObject}). The
 * cache sees only uncompressed bytes either way.
 */
interface ChunkSource extends AutoCloseable {

    /** The object's key, for messages and statistics. */
    String name();

    /** The bytes the source serves (for a compressed object: its uncompressed size). */
    long size();

    /** What the cache's saved index is tied to: another store, object or version must never inherit its chunks. */
    String identity();

    /** Fills all of {@code dst} with the bytes at {@code offset}, or fails; never serves bytes it could not check. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /**
     * As {@link #read}, telling {@code arrived} how far {@code dst} is filled (its position) whenever more of it is
     * final: bytes it has checked, or that need no check. By default once, at the end.
     */
    default void read(long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        read(offset, dst);
        arrived.accept(dst.position());
    }

    /**
     * Whether {@link #read(long, ByteBuffer, IntConsumer)} reports bytes as they arrive (rather than once at the end),
     * and a read may start anywhere at no extra cost: then a fetch can ask for a reader's part of a chunk first.
     */
    default boolean reportsArrivals() {
        return false;
    }

    /**
     * Whether the source can produce every byte of {@code [offset, offset + length)}. A compressed object whose
     * known frame table has gaps cannot: a chunk over a gap is never cached, reads of it go straight to the source.
     */
    default boolean covers(long offset, long length) {
        return true;
    }

    /** How {@code [offset, offset + length)} is allocated, as {@link ChunkCache#extents} reports it. */
    boolean extents(long offset, long length, Extents out) throws IOException;

    /** Frees what the source holds outside the heap (a decoder's contexts). */
    @Override
    default void close() {
    }
}
