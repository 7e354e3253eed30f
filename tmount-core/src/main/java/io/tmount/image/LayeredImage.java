package io.tmount.image;

import io.tmount.header.BuildMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A build served as the composition of its layers: each mapping of the header is read from its own build's chunk
 * cache; ranges mapped to the nil build read as zeros without any fetch. Read-only: writes belong to an
 * {@link Overlay} on top. Does not own the caches (they are shared by every mount of the builds).
 */
public final class LayeredImage implements BlockImage, LocalAccess {

    /** One mapping and where its bytes come from (null cache: zeros). */
    public record Segment(BuildMapping mapping, BuildData cache) {
    }

    private final long size;
    private final Segment[] segments;
    private final long[] starts;
    private final ReadAhead[] readAhead;
    private volatile ReadObserver observer;

    public LayeredImage(long size, List<Segment> segments) {
        this.size = size;
        this.segments = segments.toArray(Segment[]::new);
        this.starts = new long[this.segments.length];
        this.readAhead = new ReadAhead[this.segments.length];
        long expected = 0;
        // segments of one build read one sequential stream: they share a read-ahead tracker (found in one pass:
        // headers may hold millions of mappings)
        java.util.Map<BuildData, ReadAhead> perCache = new java.util.IdentityHashMap<>();
        for (int i = 0; i < this.segments.length; i++) {
            BuildMapping m = this.segments[i].mapping();
            if (m.offset() != expected) {
                throw new IllegalArgumentException("segments must be contiguous from 0: gap or overlap at " + expected);
            }
            starts[i] = m.offset();
            expected = m.end();
            BuildData cache = this.segments[i].cache();
            readAhead[i] = cache == null ? null : perCache.computeIfAbsent(cache, BuildData::newReadAhead);
        }
        if (expected != size) {
            throw new IllegalArgumentException("segments cover " + expected + " bytes, the image has " + size);
        }
    }

    @Override
    public long size() {
        return size;
    }

    /** What one segment serves of a range: {@code length} bytes at {@code at} in its build's object. */
    private interface PieceAction {
        /** False stops the walk. */
        boolean visit(int segment, long at, long length) throws IOException;
    }

    /** Walks {@code [offset, end)} segment by segment, in order: the one walk of the mappings. */
    private void forEachPiece(long offset, long end, PieceAction action) throws IOException {
        long position = offset;
        for (int i = segmentAt(offset); position < end; i++) {
            BuildMapping m = segments[i].mapping();
            long n = Math.min(end, m.end()) - position;
            if (!action.visit(i, m.storageOffset() + (position - m.offset()), n)) {
                return;
            }
            position += n;
        }
    }

    private int segmentAt(long offset) {
        int i = java.util.Arrays.binarySearch(starts, offset);
        return i >= 0 ? i : -i - 2;
    }

    /** Tells {@code observer} of every read from now on (null: nobody). */
    public void observe(ReadObserver observer) {
        this.observer = observer;
    }

    private void observed(long offset, long length) {
        ReadObserver o = observer;
        if (o != null) {
            o.read(offset, length);
        }
    }

    @Override
    public void read(ByteBuffer dst, long offset) throws IOException {
        observed(offset, dst.remaining());
        int limit = dst.limit();
        try {
            forEachPiece(offset, offset + dst.remaining(), (i, at, n) -> {
                dst.limit(dst.position() + (int) n);
                if (segments[i].cache() == null) {
                    Zeros.fill(dst, n);
                } else {
                    segments[i].cache().read(dst, at, readAhead[i]);
                }
                dst.limit(limit);
                return true;
            });
        } finally {
            dst.limit(limit);
        }
    }

    /** Ranges mapped to the nil build are {@link Extent#SPARSE}; the rest is as its build's object is allocated. */
    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        Extents out = new Extents();
        forEachPiece(offset, offset + length, (i, at, n) ->
                segments[i].cache() == null ? out.add(n, Extent.SPARSE) : segments[i].cache().extents(at, n, out));
        return out.list();
    }

    /** Cached chunks go out straight from their cache files; nil ranges as zeros. */
    @Override
    public boolean transfersDirectly(long offset, long length) {
        return readsLocally(offset, length);
    }

    @Override
    public long transferTo(long offset, int length, WritableByteChannel target) throws IOException {
        observed(offset, length);
        long[] waited = {0};
        forEachPiece(offset, offset + length, (i, at, n) -> {
            waited[0] += segments[i].cache() == null ? Zeros.send(n, target)
                    : segments[i].cache().transferTo(at, (int) n, target, readAhead[i]);
            return true;
        });
        return waited[0];
    }

    /** Local when every chunk the range maps to is cached (nil ranges need nothing). */
    @Override
    public boolean readsLocally(long offset, long length) {
        boolean[] local = {true};
        try {
            forEachPiece(offset, offset + length, (i, at, n) ->
                    local[0] = segments[i].cache() == null || segments[i].cache().present(at, n));
        } catch (IOException e) {
            throw new AssertionError("a presence check does no I/O", e);
        }
        return local[0];
    }

    /** Read-only: writes belong to an overlay. */
    @Override
    public boolean writesLocally(long offset, long length) {
        return false;
    }

    /** Fetches the range's chunks from the store into the shared caches. */
    @Override
    public void cache(long offset, long length) throws IOException {
        forEachPiece(offset, offset + length, (i, at, n) -> {
            if (segments[i].cache() != null) {
                segments[i].cache().fetch(at, n);
            }
            return true;
        });
    }

    /**
     * Has the range's bytes fetched in the background, behind every reader (prefetch); the future completes when all
     * are local, exceptionally if a fetch failed. Ranges mapped to the nil build need nothing.
     */
    public CompletableFuture<Void> prefetch(long offset, long length) {
        List<CompletableFuture<Void>> fetches = new ArrayList<>();
        try {
            forEachPiece(offset, Math.min(size, offset + length), (i, at, n) -> {
                if (segments[i].cache() != null) {
                    fetches.add(segments[i].cache().prefetch(at, n));
                }
                return true;
            });
        } catch (IOException e) {
            throw new AssertionError("submitting prefetches does no I/O", e);
        }
        return CompletableFuture.allOf(fetches.toArray(CompletableFuture[]::new));
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
