package io.tmount.image;

import java.nio.ByteBuffer;

/** Filling buffers with zeros from one shared read-only block of them. */
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
}
