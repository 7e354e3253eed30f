package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * One build object's bytes as a layered image reads them: a {@link ChunkCache} that fetches chunks from the store on
 * first touch, or, where the store is a folder on this host and the object is stored as it is, the {@link StoreFile}
 * itself (nothing to copy). Shared by every mount and every chain that reads the object.
 */
public sealed interface BuildData extends AutoCloseable permits ChunkCache, StoreFile {

    /** The object's size (for a compressed object: its uncompressed size). */
    long size();

    /** Fills {@code dst} from object offset {@code offset}; {@code readAhead} (may be null) tracks the reader's stream. */
    void read(ByteBuffer dst, long offset, ReadAhead readAhead) throws IOException;

    /**
     * As {@link #read}, but writes the bytes to {@code target}, straight from a local file where it can (sendfile);
     * returns the nanoseconds spent waiting for room in the target.
     */
    long transferTo(long offset, int length, WritableByteChannel target, ReadAhead readAhead) throws IOException;

    /** A tracker of one reader's stream through this data, for {@link #read} and {@link #transferTo}. */
    ReadAhead newReadAhead();

    /** Whether a read of the range needs nothing but local storage (no fetch, no check still to make). */
    boolean present(long offset, long length);

    /** Makes the range's bytes local (NBD_CMD_CACHE, prefetch) and returns once they are. */
    void fetch(long offset, long length) throws IOException;

    /**
     * Has the range's bytes made local in the background, behind every reader (prefetch); the future completes when
     * they are (exceptionally if a fetch failed; a later read tries again).
     */
    java.util.concurrent.CompletableFuture<Void> prefetch(long offset, long length);

    /** How the object is allocated in the range: the holes of a local sparse file; elsewhere all data. */
    boolean extents(long offset, long length, Extents out) throws IOException;

    CacheStats stats();

    @Override
    void close() throws IOException;
}
