package io.tmount.image;

import io.tmount.header.BuildMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * A build served as the composition of its layers: each mapping of the header is read from its own build's chunk
 * cache; ranges mapped to the nil build read as zeros without any fetch. Read-only: writes belong to an
 * {@link Overlay} on top. Does not own the caches (they are shared by every mount of the builds).
 */
public final class LayeredImage implements BlockImage {

    /** One mapping and where its bytes come from (null cache: zeros). */
    public record Segment(BuildMapping mapping, ChunkCache cache) {
    }

    private final long size;
    private final Segment[] segments;
    private final long[] starts;
    private final ReadAhead[] readAhead;

    public LayeredImage(long size, List<Segment> segments) {
        this.size = size;
        this.segments = segments.toArray(Segment[]::new);
        this.starts = new long[this.segments.length];
        this.readAhead = new ReadAhead[this.segments.length];
        long expected = 0;
        // segments of one build read one sequential stream: they share a read-ahead tracker (found in one pass:
        // headers may hold millions of mappings)
        java.util.Map<ChunkCache, ReadAhead> perCache = new java.util.IdentityHashMap<>();
        for (int i = 0; i < this.segments.length; i++) {
            BuildMapping m = this.segments[i].mapping();
            if (m.offset() != expected) {
                throw new IllegalArgumentException("segments must be contiguous from 0: gap or overlap at " + expected);
            }
            starts[i] = m.offset();
            expected = m.end();
            ChunkCache cache = this.segments[i].cache();
            readAhead[i] = cache == null ? null : perCache.computeIfAbsent(cache, c -> new ReadAhead());
        }
        if (expected != size) {
            throw new IllegalArgumentException("segments cover " + expected + " bytes, the image has " + size);
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(ByteBuffer dst, long offset) throws IOException {
        int limit = dst.limit();
        long position = offset;
        int i = segmentAt(offset);
        try {
            while (dst.hasRemaining()) {
                Segment segment = segments[i];
                BuildMapping m = segment.mapping();
                int n = (int) Math.min(dst.remaining(), m.end() - position);
                dst.limit(dst.position() + n);
                if (segment.cache() == null) {
                    Zeros.fill(dst, n);
                } else {
                    segment.cache().read(dst, m.storageOffset() + (position - m.offset()), readAhead[i]);
                }
                dst.limit(limit);
                position += n;
                i++;
            }
        } finally {
            dst.limit(limit);
        }
    }

    private int segmentAt(long offset) {
        int i = java.util.Arrays.binarySearch(starts, offset);
        return i >= 0 ? i : -i - 2;
    }

    /** Ranges mapped to the nil build are {@link Extent#SPARSE}; the rest is as its build's object is allocated. */
    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        Extents out = new Extents();
        long position = offset;
        long end = offset + length;
        for (int i = segmentAt(offset); position < end; i++) {
            BuildMapping m = segments[i].mapping();
            long n = Math.min(end, m.end()) - position;
            boolean more = segments[i].cache() == null ? out.add(n, Extent.SPARSE)
                    : segments[i].cache().extents(m.storageOffset() + (position - m.offset()), n, out);
            if (!more) {
                break;
            }
            position += n;
        }
        return out.list();
    }

    /** Cached chunks go out straight from their cache files; nil ranges as zeros. */
    @Override
    public boolean transfersDirectly(long offset, long length) {
        return readsLocally(offset, length);
    }

    @Override
    public long transferTo(long offset, int length, WritableByteChannel target) throws IOException {
        long waited = 0;
        long position = offset;
        long end = offset + length;
        for (int i = segmentAt(offset); position < end; i++) {
            Segment segment = segments[i];
            BuildMapping m = segment.mapping();
            int n = (int) (Math.min(end, m.end()) - position);
            if (segment.cache() == null) {
                waited += Zeros.send(n, target);
            } else {
                waited += segment.cache().transferTo(m.storageOffset() + (position - m.offset()), n, target,
                        readAhead[i]);
            }
            position += n;
        }
        return waited;
    }

    /** Local when every chunk the range maps to is cached (nil ranges need nothing). */
    @Override
    public boolean readsLocally(long offset, long length) {
        long position = offset;
        long end = offset + length;
        for (int i = segmentAt(offset); position < end; i++) {
            BuildMapping m = segments[i].mapping();
            long n = Math.min(end, m.end()) - position;
            if (segments[i].cache() != null
                    && !segments[i].cache().present(m.storageOffset() + (position - m.offset()), n)) {
                return false;
            }
            position += n;
        }
        return true;
    }

    /** Fetches the range's chunks from the store into the shared caches. */
    @Override
    public void cache(long offset, long length) throws IOException {
        long position = offset;
        long end = offset + length;
        for (int i = segmentAt(offset); position < end; i++) {
            BuildMapping m = segments[i].mapping();
            long n = Math.min(end, m.end()) - position;
            if (segments[i].cache() != null) {
                segments[i].cache().fetch(m.storageOffset() + (position - m.offset()), n);
            }
            position += n;
        }
    }

    /** The mappings this image serves, in device order. */
    public List<BuildMapping> mappings() {
        return java.util.Arrays.stream(segments).map(Segment::mapping).toList();
    }

    @Override
    public void write(ByteBuffer src, long offset) throws IOException {
        throw new IOException("a layered build is read-only; writes go to a mount's overlay");
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        throw new IOException("a layered build is read-only; writes go to a mount's overlay");
    }

    @Override
    public void writeZeroes(long offset, long length, boolean allocate) throws IOException {
        throw new IOException("a layered build is read-only; writes go to a mount's overlay");
    }

    @Override
    public void flush() {
        // nothing is ever written
    }

    @Override
    public void close() {
        // the chunk caches are shared and outlive this image
    }
}
