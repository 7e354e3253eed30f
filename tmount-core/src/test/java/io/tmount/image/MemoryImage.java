package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A read-only block image held in memory that counts how many bytes were read from it, and can report one range
 * as sparse: a fake lower layer.
 */
final class MemoryImage implements BlockImage {

    private final byte[] bytes;
    final AtomicLong bytesRead = new AtomicLong();
    private long sparseFrom;
    private long sparseTo;

    MemoryImage(byte[] bytes) {
        this.bytes = bytes;
    }

    /** Reports {@code [from, to)} as {@link Extent#SPARSE} (whatever its bytes). */
    MemoryImage withSparse(long from, long to) {
        sparseFrom = from;
        sparseTo = to;
        return this;
    }

    @Override
    public List<Extent> extents(long offset, long length) {
        Extents out = new Extents();
        long end = offset + length;
        for (long p = offset; p < end; ) {
            boolean sparse = p >= sparseFrom && p < sparseTo;
            long next = sparse ? Math.min(end, sparseTo) : p < sparseFrom ? Math.min(end, sparseFrom) : end;
            out.add(next - p, sparse ? Extent.SPARSE : 0);
            p = next;
        }
        return out.list();
    }

    @Override
    public long size() {
        return bytes.length;
    }

    @Override
    public void read(ByteBuffer dst, long offset) {
        int n = dst.remaining();
        dst.put(bytes, (int) offset, n);
        bytesRead.addAndGet(n);
    }

    @Override
    public void write(ByteBuffer src, long offset) throws IOException {
        throw new IOException("read-only");
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        throw new IOException("read-only");
    }

    @Override
    public void writeZeroes(long offset, long length, boolean allocate) throws IOException {
        throw new IOException("read-only");
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
}
