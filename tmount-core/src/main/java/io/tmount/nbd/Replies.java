package io.tmount.nbd;

import io.tmount.image.BlockImage;
import io.tmount.image.Extent;
import io.tmount.image.LocalAccess;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import static io.tmount.nbd.NbdProtocol.*;

/**
 * What a connection sends back. Replies of requests running on their own threads go out one at a time under a
 * lock. Replies to the reads the reader answers itself are built in place, back to back, in one buffer (header,
 * then the data read straight into the buffer) and sent with one write when the reader is about to wait, or the
 * buffer is full: no copy, no allocation, one system call for a whole batch.
 */
final class Replies {

    private static final ByteBuffer NO_DATA = ByteBuffer.allocate(0).asReadOnlyBuffer();
    private static final int BATCH_BYTES = 256 * 1024; // many replies to small reads; the largest inline read fits

    /** Reads a request's data into a buffer. */
    interface Source {
        void read(ByteBuffer dst) throws IOException;
    }

    private final GatheringByteChannel channel;
    private final boolean structured;
    private final ReentrantLock lock = new ReentrantLock();
    private final ByteBuffer header = ByteBuffer.allocateDirect(STRUCTURED_REPLY_BYTES + 8);
    private final ByteBuffer batch = ByteBuffer.allocateDirect(BATCH_BYTES); // the reader thread's only

    Replies(GatheringByteChannel channel, boolean structured) {
        this.channel = channel;
        this.structured = structured;
    }

    private int readHeaderBytes() {
        return structured ? STRUCTURED_REPLY_BYTES + 8 : SIMPLE_REPLY_BYTES;
    }

    // The reply headers, written at an absolute position: the one place that knows their layout.

    /** A read's header: a final OFFSET_DATA chunk's, or a simple reply's; returns its length. */
    private int putReadHeader(ByteBuffer to, int at, long cookie, long offset, int length) {
        if (!structured) {
            return putSimpleHeader(to, at, 0, cookie);
        }
        putChunkHeader(to, at, REPLY_TYPE_OFFSET_DATA, cookie, 8 + length);
        to.putLong(at + STRUCTURED_REPLY_BYTES, offset);
        return STRUCTURED_REPLY_BYTES + 8;
    }

    private static int putSimpleHeader(ByteBuffer to, int at, int error, long cookie) {
        to.putInt(at, SIMPLE_REPLY_MAGIC).putInt(at + 4, error).putLong(at + 8, cookie);
        return SIMPLE_REPLY_BYTES;
    }

    /** A final structured chunk's header. */
    private static int putChunkHeader(ByteBuffer to, int at, int type, long cookie, int payloadLength) {
        to.putInt(at, STRUCTURED_REPLY_MAGIC).putShort(at + 4, (short) REPLY_FLAG_DONE).putShort(at + 6, (short) type)
                .putLong(at + 8, cookie).putInt(at + 16, payloadLength);
        return STRUCTURED_REPLY_BYTES;
    }

    /** The shared header buffer (cleared, then a header put at its start), ready to send that header's bytes. */
    private ByteBuffer header(int length) {
        return header.limit(length);
    }

    /**
     * Answers a read in the batch (sending the batch first if it lacks room); false when the data could not be read,
     * leaving the batch as it was: the caller then answers with an error.
     */
    boolean batchRead(long cookie, long offset, int length, Source source) throws IOException {
        int headerBytes = readHeaderBytes();
        if (batch.remaining() < headerBytes + length) {
            flushBatch();
        }
        int start = batch.position();
        try {
            source.read(batch.slice(start + headerBytes, length));
        } catch (IOException | RuntimeException e) {
            return false;
        }
        putReadHeader(batch, start, cookie, offset, length);
        batch.position(start + headerBytes + length);
        return true;
    }

    /** A simple reply without data (a write done by the reader), in the batch. */
    void batchSimple(long cookie, int error) throws IOException {
        if (batch.remaining() < SIMPLE_REPLY_BYTES) {
            flushBatch();
        }
        batch.position(batch.position() + putSimpleHeader(batch, batch.position(), error, cookie));
    }

    /** Sends the batched replies, if any. Called by the reader thread only. */
    void flushBatch() throws IOException {
        if (batch.position() == 0) {
            return;
        }
        batch.flip();
        lock.lock();
        try {
            Wire.writeFully(channel, batch);
        } finally {
            lock.unlock();
            batch.clear();
        }
    }

    /** A simple reply, with data (a read without structured replies) or without. */
    void simple(long cookie, int error, ByteBuffer data) throws IOException {
        lock.lock();
        try {
            send(putSimpleHeader(header.clear(), 0, error, cookie), data == null ? NO_DATA : data);
        } finally {
            lock.unlock();
        }
    }

    /** A read's data: one final OFFSET_DATA chunk, or a simple reply. */
    void readData(long cookie, long offset, ByteBuffer data) throws IOException {
        lock.lock();
        try {
            send(putReadHeader(header.clear(), 0, cookie, offset, data.remaining()), data);
        } finally {
            lock.unlock();
        }
    }

    /** Sends the header just put at the start of the header buffer, then {@code body}; the caller holds the lock. */
    private void send(int headerLength, ByteBuffer body) throws IOException {
        Wire.writeFully(channel, header(headerLength), body);
    }

    /**
     * A read's data sent by the image itself, straight after the header (sendfile where the image can); returns the
     * nanoseconds spent waiting for the socket: for its lock, and for room in it.
     */
    long readTransfer(long cookie, long offset, int length, BlockImage image) throws IOException {
        long start = System.nanoTime();
        lock.lock(); // waiting for replies of other threads to go out is the socket's time too, not the storage's
        try {
            ByteBuffer head = header(putReadHeader(header.clear(), 0, cookie, offset, length));
            Wire.writeFully(channel, head);
            long waited = System.nanoTime() - start;
            return waited + LocalAccess.transfer(image, offset, length, channel);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A read of no bytes: a simple reply, or with structured replies a NONE chunk, since an OFFSET_DATA chunk must
     * carry at least one byte (libnbd drops a connection that sends an empty one).
     */
    void emptyRead(long cookie) throws IOException {
        if (structured) {
            chunk(cookie, REPLY_TYPE_NONE, ByteBuffer.allocate(0));
        } else {
            simple(cookie, 0, null);
        }
    }

    /** A base:allocation block status: one chunk, its descriptors consecutive from the request's offset. */
    void blockStatus(long cookie, List<Extent> extents) throws IOException {
        ByteBuffer payload = ByteBuffer.allocate(4 + 8 * extents.size());
        payload.putInt(BASE_ALLOCATION_ID);
        for (Extent extent : extents) {
            payload.putInt((int) extent.length()).putInt(extent.flags()); // each within the u32 request length
        }
        chunk(cookie, REPLY_TYPE_BLOCK_STATUS, payload.flip());
    }

    /** A failed read: an ERROR chunk when structured replies are on (a read must never get a simple reply then). */
    void readError(long cookie, int error, String message) throws IOException {
        if (structured) {
            errorChunk(cookie, error, message);
        } else {
            simple(cookie, error, null);
        }
    }

    void errorChunk(long cookie, int error, String message) throws IOException {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, 4096);
        chunk(cookie, REPLY_TYPE_ERROR, ByteBuffer.allocate(6 + length).putInt(error).putShort((short) length)
                .put(text, 0, length).flip());
    }

    /** One final structured reply chunk. */
    void chunk(long cookie, int type, ByteBuffer payload) throws IOException {
        lock.lock();
        try {
            send(putChunkHeader(header.clear(), 0, type, cookie, payload.remaining()), payload);
        } finally {
            lock.unlock();
        }
    }
}
