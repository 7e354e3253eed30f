package io.tmount.nbd;

import io.tmount.image.BlockImage;
import io.tmount.image.Extent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantLock;

import static io.tmount.nbd.NbdProtocol.*;

/**
 * The transmission phase of one connection. One reader decodes requests (and write payloads) in order; each request
 * then runs on its own virtual thread, so slow reads do not hold up others; replies go out one at a time under a lock.
 * Payload memory in flight is bounded by a budget shared by the server's connections. With structured replies,
 * reads answer with one OFFSET_DATA chunk (or an ERROR chunk), and BLOCK_STATUS reports {@code base:allocation}.
 */
final class Transmission {

    private static final Logger log = LoggerFactory.getLogger(Transmission.class);

    private final SocketChannel channel;
    private final NbdExport export;
    private final Session session;
    private final BlockImage image;
    private final BufferPool buffers;
    private final Semaphore payloadBudget;
    private final int budgetUnits;
    private final int maxPayload;
    private final ReentrantLock replyLock = new ReentrantLock();
    private final ByteBuffer replyHeader = ByteBuffer.allocateDirect(STRUCTURED_REPLY_BYTES + 8);

    Transmission(SocketChannel channel, Session session, BufferPool buffers, Semaphore payloadBudget,
                 int budgetUnits, int maxPayload) {
        this.channel = channel;
        this.session = session;
        this.export = session.export();
        this.image = export.image();
        this.buffers = buffers;
        this.payloadBudget = payloadBudget;
        this.budgetUnits = budgetUnits;
        this.maxPayload = maxPayload;
    }

    /** Serves requests until the client disconnects or breaks the protocol; returns once every request is answered. */
    void run() throws IOException {
        ByteBuffer header = ByteBuffer.allocateDirect(REQUEST_BYTES);
        try (ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor()) {
            while (true) {
                header.clear();
                if (!Wire.readFully(channel, header)) {
                    return;
                }
                header.flip();
                int magic = header.getInt();
                int flags = Short.toUnsignedInt(header.getShort());
                int type = Short.toUnsignedInt(header.getShort());
                long cookie = header.getLong();
                long offset = header.getLong();
                long length = Integer.toUnsignedLong(header.getInt());
                if (magic != REQUEST_MAGIC) {
                    log.warn("NBD request with bad magic {} on export '{}'; closing the connection",
                            Integer.toHexString(magic), export.name());
                    return;
                }
                if (type == CMD_DISC) {
                    return; // leaving the try waits for outstanding requests, as the protocol requires
                }
                if (!dispatch(requests, type, flags, cookie, offset, length)) {
                    return;
                }
            }
        } catch (ClosedChannelException | EOFException e) {
            log.debug("connection to export '{}' ended: {}", export.name(), e.toString());
        }
    }

    /** Reads what the request carries and hands it to a worker; false when the connection must end. */
    private boolean dispatch(ExecutorService requests, int type, int flags, long cookie, long offset, long length)
            throws IOException {
        int error = check(type, flags, offset, length);
        if (type == CMD_WRITE) {
            if (length > maxPayload) {
                log.warn("NBD write of {} bytes exceeds the {} byte limit; closing the connection", length, maxPayload);
                return false;
            }
            int units = acquire(length);
            ByteBuffer payload;
            try {
                payload = buffers.acquire((int) length);
            } catch (RuntimeException | OutOfMemoryError e) {
                payloadBudget.release(units);
                throw e;
            }
            try {
                Wire.readExactly(channel, payload);
            } catch (IOException e) {
                release(payload, units);
                throw e;
            }
            payload.flip();
            if (error != 0) {
                release(payload, units);
                reply(cookie, error, null);
                return true;
            }
            requests.execute(() -> write(cookie, flags, offset, payload, units));
            return true;
        }
        if (error != 0) {
            if (type == CMD_READ && session.structuredReplies()) {
                errorChunk(cookie, error, "invalid read request"); // never a simple reply to a read
            } else {
                reply(cookie, error, null);
            }
            return true;
        }
        switch (type) {
            case CMD_READ -> {
                int units = acquire(length);
                requests.execute(() -> read(cookie, offset, (int) length, units));
            }
            case CMD_FLUSH -> requests.execute(() -> complete(cookie, image::flush));
            case CMD_TRIM -> requests.execute(() -> complete(cookie, () -> {
                if (length > 0) {
                    image.trim(offset, length);
                }
                fua(flags);
            }));
            case CMD_WRITE_ZEROES -> requests.execute(() -> complete(cookie, () -> {
                if (length > 0) {
                    image.writeZeroes(offset, length, (flags & CMD_FLAG_NO_HOLE) != 0);
                }
                fua(flags);
            }));
            case CMD_CACHE -> requests.execute(() -> complete(cookie, () -> image.cache(offset, length)));
            case CMD_BLOCK_STATUS -> requests.execute(() -> blockStatus(cookie, flags, offset, length));
            default -> throw new IllegalStateException("unchecked command " + type);
        }
        return true;
    }

    /** The error a request earns before it runs, or 0. */
    private int check(int type, int flags, long offset, long length) {
        int allowedFlags = switch (type) {
            case CMD_READ, CMD_WRITE, CMD_FLUSH, CMD_TRIM -> CMD_FLAG_FUA;
            case CMD_WRITE_ZEROES -> CMD_FLAG_FUA | CMD_FLAG_NO_HOLE;
            case CMD_CACHE -> 0;
            case CMD_BLOCK_STATUS -> session.baseAllocation() ? CMD_FLAG_REQ_ONE : -1; // no context: EINVAL
            default -> -1;
        };
        if (allowedFlags < 0 || (flags & ~allowedFlags) != 0) {
            return EINVAL;
        }
        if (type == CMD_BLOCK_STATUS && length == 0) {
            return EINVAL;
        }
        boolean writes = type == CMD_WRITE || type == CMD_TRIM || type == CMD_WRITE_ZEROES;
        if (writes && export.readOnly()) {
            return EPERM;
        }
        if (type == CMD_FLUSH) {
            return 0;
        }
        if ((type == CMD_READ || type == CMD_CACHE) && length > maxPayload) {
            return EINVAL;
        }
        if (offset < 0 || offset > image.size() || length > image.size() - offset) {
            return (type == CMD_WRITE || type == CMD_WRITE_ZEROES) ? ENOSPC : EINVAL;
        }
        return 0;
    }

    private void read(long cookie, long offset, int length, int units) {
        ByteBuffer data;
        try {
            data = buffers.acquire(length);
        } catch (RuntimeException | OutOfMemoryError e) {
            payloadBudget.release(units);
            log.warn("no memory for a read of {} bytes on export '{}': {}", length, export.name(), e.toString());
            try {
                if (session.structuredReplies()) {
                    errorChunk(cookie, ENOMEM, "no memory for the read");
                } else {
                    reply(cookie, ENOMEM, null);
                }
            } catch (IOException sendFailed) {
                log.debug("cannot send a reply on export '{}': {}", export.name(), sendFailed.toString());
            }
            return;
        }
        try {
            try {
                image.read(data, offset);
            } catch (IOException | RuntimeException e) {
                log.warn("read of {} bytes at {} from export '{}' failed: {}", length, offset, export.name(), e.toString());
                if (session.structuredReplies()) {
                    errorChunk(cookie, EIO, "read failed: " + e.getMessage());
                } else {
                    reply(cookie, EIO, null);
                }
                return;
            }
            data.flip();
            if (session.structuredReplies()) {
                dataChunk(cookie, offset, data);
            } else {
                reply(cookie, 0, data);
            }
        } catch (IOException e) {
            log.debug("cannot send a reply on export '{}': {}", export.name(), e.toString());
        } finally {
            release(data, units);
        }
    }

    /** BLOCK_STATUS: one chunk for base:allocation, its descriptors consecutive from the offset. */
    private void blockStatus(long cookie, int flags, long offset, long length) {
        try {
            List<Extent> extents;
            try {
                extents = image.extents(offset, length);
            } catch (IOException | RuntimeException e) {
                log.warn("block status of {} bytes at {} on export '{}' failed: {}", length, offset, export.name(),
                        e.toString());
                errorChunk(cookie, EIO, "block status failed: " + e.getMessage());
                return;
            }
            if ((flags & CMD_FLAG_REQ_ONE) != 0) {
                Extent first = extents.getFirst();
                extents = List.of(new Extent(Math.min(first.length(), length), first.flags()));
            }
            ByteBuffer payload = ByteBuffer.allocate(4 + 8 * extents.size());
            payload.putInt(BASE_ALLOCATION_ID);
            for (Extent extent : extents) {
                payload.putInt((int) extent.length()).putInt(extent.flags()); // each within the u32 request length
            }
            chunk(cookie, REPLY_TYPE_BLOCK_STATUS, payload.flip());
        } catch (IOException e) {
            log.debug("cannot send a reply on export '{}': {}", export.name(), e.toString());
        }
    }

    private void write(long cookie, int flags, long offset, ByteBuffer payload, int units) {
        try {
            complete(cookie, () -> {
                image.write(payload, offset);
                fua(flags);
            });
        } finally {
            release(payload, units);
        }
    }

    private interface ImageOp {
        void run() throws IOException;
    }

    private void complete(long cookie, ImageOp op) {
        int error = 0;
        try {
            op.run();
        } catch (IOException | RuntimeException e) {
            log.warn("request on export '{}' failed: {}", export.name(), e.toString());
            error = EIO;
        }
        try {
            reply(cookie, error, null);
        } catch (IOException e) {
            log.debug("cannot send a reply on export '{}': {}", export.name(), e.toString());
        }
    }

    private void fua(int flags) throws IOException {
        if ((flags & CMD_FLAG_FUA) != 0) {
            image.flush();
        }
    }

    private void reply(long cookie, int error, ByteBuffer data) throws IOException {
        replyLock.lock();
        try {
            replyHeader.clear();
            replyHeader.putInt(SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie).flip();
            if (data == null) {
                Wire.writeFully(channel, replyHeader);
            } else {
                Wire.writeFully(channel, replyHeader, data);
            }
        } finally {
            replyLock.unlock();
        }
    }

    /** A read's data as one final OFFSET_DATA chunk. */
    private void dataChunk(long cookie, long offset, ByteBuffer data) throws IOException {
        replyLock.lock();
        try {
            replyHeader.clear();
            replyHeader.putInt(STRUCTURED_REPLY_MAGIC).putShort((short) REPLY_FLAG_DONE)
                    .putShort((short) REPLY_TYPE_OFFSET_DATA).putLong(cookie).putInt(8 + data.remaining())
                    .putLong(offset).flip();
            Wire.writeFully(channel, replyHeader, data);
        } finally {
            replyLock.unlock();
        }
    }

    private void errorChunk(long cookie, int error, String message) throws IOException {
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        int length = Math.min(text.length, 4096);
        chunk(cookie, REPLY_TYPE_ERROR, ByteBuffer.allocate(6 + length).putInt(error).putShort((short) length)
                .put(text, 0, length).flip());
    }

    /** One final structured reply chunk. */
    private void chunk(long cookie, int type, ByteBuffer payload) throws IOException {
        replyLock.lock();
        try {
            replyHeader.clear();
            replyHeader.putInt(STRUCTURED_REPLY_MAGIC).putShort((short) REPLY_FLAG_DONE).putShort((short) type)
                    .putLong(cookie).putInt(payload.remaining()).flip();
            Wire.writeFully(channel, replyHeader, payload);
        } finally {
            replyLock.unlock();
        }
    }

    /** Budget units are KiB, capped so one maximal request can always proceed alone. */
    private int acquire(long length) throws IOException {
        int units = (int) Math.min(budgetUnits, Math.max(1, (length + 1023) >> 10));
        try {
            payloadBudget.acquire(units);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClosedChannelException();
        }
        return units;
    }

    private void release(ByteBuffer buffer, int units) {
        buffers.release(buffer);
        payloadBudget.release(units);
    }
}
