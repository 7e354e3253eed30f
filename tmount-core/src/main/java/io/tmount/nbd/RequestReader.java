package io.tmount.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * A connection's requests, read in large gulps: one read of the socket usually brings many pipelined requests, so
 * decoding them costs no system call each. Before it blocks for more, it runs a hook (to send the replies that are
 * ready: the client may be waiting for them before it sends anything else).
 */
final class RequestReader {

    private static final int BUFFER_BYTES = 64 * 1024; // hundreds of headers; larger payloads go straight to their buffers

    private final ReadableByteChannel channel;
    private final ByteBuffer in = ByteBuffer.allocateDirect(BUFFER_BYTES).flip();
    /** While a payload is read: when it last made progress (System.nanoTime); 0 otherwise. */
    private volatile long payloadProgress;

    RequestReader(ReadableByteChannel channel) {
        this.channel = channel;
    }

    /** What to do before blocking for more requests. */
    interface BeforeBlocking {
        void run() throws IOException;
    }

    /** The next request; null on a clean end of the connection between requests. */
    Request next(BeforeBlocking beforeBlocking) throws IOException {
        while (in.remaining() < NbdProtocol.REQUEST_BYTES) {
            if (!fill(beforeBlocking)) {
                if (in.hasRemaining()) {
                    throw new EOFException("connection closed inside a request");
                }
                return null;
            }
        }
        return Request.decode(in);
    }

    /** Fills {@code dst} with the request's payload: what is buffered first, then straight from the socket. */
    void payload(ByteBuffer dst) throws IOException {
        int n = Math.min(in.remaining(), dst.remaining());
        dst.put(dst.position(), in, in.position(), n);
        dst.position(dst.position() + n);
        in.position(in.position() + n);
        if (!dst.hasRemaining()) {
            return;
        }
        payloadProgress = System.nanoTime();
        try {
            while (dst.hasRemaining()) {
                int read = channel.read(dst);
                if (read < 0) {
                    throw new EOFException("connection closed inside a write payload");
                }
                if (read > 0) {
                    payloadProgress = System.nanoTime();
                }
            }
        } finally {
            payloadProgress = 0;
        }
    }

    /** Reads and drops {@code length} bytes of payload (of a request refused before its payload was read). */
    void skip(long length) throws IOException {
        long left = length;
        while (left > 0) {
            if (!in.hasRemaining()) {
                payloadProgress = System.nanoTime();
                try {
                    if (!fill(() -> { })) {
                        throw new EOFException("connection closed inside a write payload");
                    }
                } finally {
                    payloadProgress = 0;
                }
            }
            int n = (int) Math.min(left, in.remaining());
            in.position(in.position() + n);
            left -= n;
        }
    }

    /** How long the payload being read has gone without a byte arriving; 0 when no payload is being read. */
    long payloadStalledNanos(long now) {
        long since = payloadProgress;
        return since == 0 ? 0 : now - since;
    }

    /** Reads more; false at the end of the stream. */
    private boolean fill(BeforeBlocking beforeBlocking) throws IOException {
        beforeBlocking.run();
        in.compact();
        try {
            int n;
            do {
                n = channel.read(in);
            } while (n == 0);
            return n > 0;
        } finally {
            in.flip();
        }
    }
}
