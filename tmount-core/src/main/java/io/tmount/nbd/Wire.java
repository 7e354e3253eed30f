package io.tmount.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;

/** Whole-buffer reads and writes on blocking channels. */
final class Wire {

    private Wire() {
    }

    /** Fills the buffer; false on a clean end of stream before the first byte, EOFException if cut off inside. */
    static boolean readFully(ReadableByteChannel channel, ByteBuffer buffer) throws IOException {
        boolean started = false;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer);
            if (n < 0) {
                if (!started) {
                    return false;
                }
                throw new EOFException("connection closed inside a message");
            }
            started |= n > 0;
        }
        return true;
    }

    static void readExactly(ReadableByteChannel channel, ByteBuffer buffer) throws IOException {
        if (!readFully(channel, buffer) && buffer.capacity() > 0) {
            throw new EOFException("connection closed");
        }
    }

    static void writeFully(GatheringByteChannel channel, ByteBuffer... buffers) throws IOException {
        long remaining = 0;
        for (ByteBuffer buffer : buffers) {
            remaining += buffer.remaining();
        }
        while (remaining > 0) {
            remaining -= channel.write(buffers);
        }
    }
}
