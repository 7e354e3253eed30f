package io.tmount.image;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/** Sending file bytes to a socket without copying them through this process (sendfile, via transferTo). */
final class Sendfile {

    private Sendfile() {
    }

    /**
     * Writes exactly {@code length} bytes of {@code file} from {@code position} to {@code target}; returns the
     * nanoseconds spent waiting for room in it (sendfile itself returns at once when there is none).
     */
    static long send(FileChannel file, long position, long length, WritableByteChannel target, Object name)
            throws IOException {
        long at = position;
        long end = position + length;
        ByteBuffer one = null;
        long waited = 0;
        while (at < end) {
            long n = file.transferTo(at, end - at, target);
            if (n > 0) {
                at += n;
                continue;
            }
            // Nothing sent: the socket is full (under virtual threads its descriptor is non-blocking, and sendfile
            // does not wait). One byte sent the ordinary way waits until there is room; then sendfile goes on.
            one = one == null ? ByteBuffer.allocate(1) : one.clear();
            if (file.read(one, at) <= 0) {
                throw new EOFException(name + " ends before " + at + " (sending " + length + " bytes at " + position + ")");
            }
            one.flip();
            long start = System.nanoTime();
            while (one.hasRemaining()) {
                target.write(one);
            }
            waited += System.nanoTime() - start;
            at++;
        }
        return waited;
    }
}
