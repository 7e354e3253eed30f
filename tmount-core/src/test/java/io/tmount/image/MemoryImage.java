package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/** A read-only block image held in memory that counts how many bytes were read from it: a fake lower layer. */
final class MemoryImage implements BlockImage {

    private final byte[] bytes;
    final AtomicLong bytesRead = new AtomicLong();

    MemoryImage(byte[] bytes) {
        this.bytes = bytes;
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
