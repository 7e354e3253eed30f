package io.tmount.image;

import io.tmount.compress.FrameCodec;
import io.tmount.compress.FrameTable;
import io.tmount.store.ObjectInfo;
import io.tmount.store.ObjectStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A compressed data object (e2b's {@code rootfs.ext4.zstd} or {@code .lz4}): a read fetches the frames it touches,
 * a run of adjacent frames with one ranged read, and decodes them. Each frame must decode to exactly the size its
 * table gives, with its own checksums intact; a frame that does not is an error for the reader and a logged error,
 * never bytes served.
 *
 * <p>The frame table is the union of the (possibly trimmed) tables of every header that named this object: each
 * header only lists the frames its own mappings use.
 */
final class FramedObject implements ChunkSource {

    /** A ranged read fetches at most this many compressed bytes (more frames take more reads). */
    private static final int MAX_RUN = 16 << 20;

    private static final Logger log = LoggerFactory.getLogger(FramedObject.class);

    private final ObjectStore store;
    private final String key;
    private final ObjectInfo object;
    private final long size;
    private final FrameCodec codec;
    private final FetchBuffers compressedBuffers = new FetchBuffers();
    private final FetchBuffers frameBuffers = new FetchBuffers();
    private volatile FrameTable table;

    FramedObject(ObjectStore store, String key, ObjectInfo object, long size, FrameTable table) {
        this.store = store;
        this.key = key;
        this.object = object;
        this.size = size;
        this.table = table;
        this.codec = FrameCodec.of(table.compression(), 0);
    }

    /** Adds the frames another header lists; they must agree with those known (the same object). */
    synchronized void addFrames(FrameTable more) {
        table = table.merge(more);
    }

    FrameTable table() {
        return table;
    }

    @Override
    public String name() {
        return key;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean covers(long offset, long length) {
        return table.covers(offset, offset + length);
    }

    @Override
    public String identity() {
        return store.url() + " " + key + " " + object.version() + " " + size;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        FrameTable t = table;
        long end = offset + dst.remaining();
        int base = dst.position();
        long position = offset;
        while (position < end) {
            int first = t.find(position);
            if (first < 0) {
                throw new IOException(key + " has no frame in its frame table for uncompressed offset " + position);
            }
            int last = first;
            while (t.endU(last) < end && last + 1 < t.count() && t.startU(last + 1) == t.endU(last)
                    && t.startC(last + 1) == t.endC(last) && t.endC(last + 1) - t.startC(first) <= MAX_RUN) {
                last++;
            }
            ByteBuffer compressed = compressedBuffers.take(roundUp((int) (t.endC(last) - t.startC(first))));
            try {
                fetch(t.startC(first), compressed, (int) (t.endC(last) - t.startC(first)));
                for (int f = first; f <= last; f++) {
                    ByteBuffer src = compressed.duplicate();
                    src.limit((int) (t.endC(f) - t.startC(first))).position((int) (t.startC(f) - t.startC(first)));
                    long from = Math.max(position, t.startU(f));
                    long to = Math.min(end, t.endU(f));
                    ByteBuffer out = dst.duplicate();
                    out.position(base + (int) (from - offset));
                    decodeInto(t, f, src, out, from, to);
                }
            } finally {
                compressedBuffers.give(compressed);
            }
            position = Math.min(end, t.endU(last));
        }
        dst.position(dst.limit());
    }

    /** Decodes frame {@code f} and puts its bytes {@code [from, to)} at {@code out}'s position. */
    private void decodeInto(FrameTable t, int f, ByteBuffer src, ByteBuffer out, long from, long to) throws IOException {
        try {
            if (from == t.startU(f) && to == t.endU(f)) {
                codec.decode(src, out, t.sizeU(f)); // the whole frame is wanted: straight into place
                return;
            }
            ByteBuffer frame = frameBuffers.take(roundUp(t.sizeU(f)));
            try {
                codec.decode(src, frame, t.sizeU(f));
                frame.limit((int) (to - t.startU(f))).position((int) (from - t.startU(f)));
                out.put(frame);
            } finally {
                frameBuffers.give(frame);
            }
        } catch (IOException e) {
            log.error("frame {} of {} (uncompressed bytes {} to {}, stored at {}) is damaged: {}", f, key, t.startU(f),
                    t.endU(f), t.startC(f), e.getMessage());
            throw new IOException("frame " + f + " of " + key + " (uncompressed offset " + t.startU(f) + ") is damaged: "
                    + e.getMessage(), e);
        }
    }

    private void fetch(long offset, ByteBuffer buffer, int length) throws IOException {
        buffer.clear().limit(length);
        try {
            store.readFully(key, offset, buffer);
        } catch (EOFException e) {
            throw new EOFException(e.getMessage() + ": its frame table needs " + (offset + length)
                    + " bytes (a short object)");
        }
        buffer.flip();
    }

    @Override
    public void close() {
        codec.close();
    }

    /** Buffers come in powers of two, so one kept for a run fits the next run of about the same size. */
    private static int roundUp(int n) {
        return n <= 4096 ? 4096 : Integer.highestOneBit(n - 1) << 1;
    }

    /** Frames have no holes to report: all of it is data. */
    @Override
    public boolean extents(long offset, long length, Extents out) {
        return out.add(length, 0);
    }
}
