package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/** Filling buffers (and sockets) with zeros from one shared read-only block of them. */
final class Zeros {

    private static final int BLOCK = 1 << 16;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(BLOCK).asReadOnlyBuffer();

    private Zeros() {
    }

    static void fill(ByteBuffer dst, long length) {
        long left = length;
        while (left > 0) {
            int n = (int) Math.min(BLOCK, left);
            dst.put(ZEROS.duplicate().limit(n));
            left -= n;
        }
    }

    /** Writes {@code length} zeros to {@code target}; returns the nanoseconds that took (all of it is the target's). */
    static long send(long length, WritableByteChannel target) throws IOException {
        long start = System.nanoTime();
        long left = length;
        while (left > 0) {
            ByteBuffer zeros = ZEROS.duplicate().limit((int) Math.min(BLOCK, left));
            while (zeros.hasRemaining()) {
                left -= target.write(zeros);
            }
        }
        return System.nanoTime() - start;
    }
}
