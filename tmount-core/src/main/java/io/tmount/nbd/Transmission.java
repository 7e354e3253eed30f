package io.tmount.nbd;

import io.tmount.image.BlockImage;
import io.tmount.image.Extent;
import io.tmount.image.LocalAccess;
import io.tmount.os.LinuxFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.List;

import static io.tmount.nbd.NbdProtocol.*;

/**
 * The transmission phase of one connection. One reader decodes requests (and write payloads) in order, from large
 * reads of the socket. While the image answers quickly (its data is local, and recent requests took microseconds:
 * the page cache, not the disk), the reader serves reads itself: small ones copied into a batch of replies sent
 * with one write before it waits for more requests, larger ones sent straight from the image's file (sendfile);
 * small writes without FUA it does itself too. No thread hand-off, and few system calls. Every other request runs
 * on a virtual thread of its own, so a slow one (a chunk fetched from the store, a flush) holds up nothing, and
 * answers under a lock; payload memory of those is bounded by a budget shared by the server's connections. With
 * structured replies, reads answer with one OFFSET_DATA chunk (or an ERROR chunk), and BLOCK_STATUS reports
 * {@code base:allocation}.
 */
final class Transmission {

    private static final Logger log = LoggerFactory.getLogger(Transmission.class);
    /** Reads up to this size are copied into the batch; larger ones are sent from the file, or by their own thread. */
    private static final int BATCH_MAX_BYTES = 32 * 1024;
    /** Writes up to this size are done by the reader; larger ones are worth doing in parallel. */
    private static final int INLINE_WRITE_MAX_BYTES = 128 * 1024;
    /**
     * Requests of one connection running at once (beyond those the reader answers itself). The kernel's client queues
     * up to 128 per connection and nbdcopy 64; what their payloads hold is bounded by the payload budgets besides.
     */
    static final int MAX_REQUESTS_IN_FLIGHT = 256;

    private final SocketChannel channel;
    private final NbdExport export;
    private final Session session;
    private final BlockImage image;
    private final BufferPool buffers;
    private final Allowance allowance;
    private final int maxPayload;
    private final Replies replies;
    private final RequestReader reader;
    private final Inflight inflight;
    private final InlineGate inlineReads = new InlineGate(); // the reader's
    private final InlineGate inlineWrites = new InlineGate();
    private final LargeReadPath largeReads = new LargeReadPath(); // the reader's
    private LargeReadPath.Rates loggedRates;

    Transmission(SocketChannel channel, Session session, BufferPool buffers, Allowance allowance, int maxPayload) {
        this.channel = channel;
        this.session = session;
        this.export = session.export();
        this.image = export.image();
        this.buffers = buffers;
        this.allowance = allowance;
        this.maxPayload = maxPayload;
        this.replies = new Replies(session.out(), session.structuredReplies());
        this.reader = new RequestReader(session.in());
        this.inflight = new Inflight(MAX_REQUESTS_IN_FLIGHT, replies::flushBatch);
    }

    /** How long the write payload being read has gone without a byte arriving (0: none is being read). */
    long payloadStalledNanos(long now) {
        return reader.payloadStalledNanos(now);
    }

    String exportName() {
        return export.name();
    }

    /** Serves requests until the client disconnects or breaks the protocol; returns once every request is answered. */
    void run() throws IOException {
        try {
            while (true) {
                Request request = reader.next(replies::flushBatch);
                if (request == null) {
                    return;
                }
                if (request.magic() != REQUEST_MAGIC) {
                    log.warn("NBD request with bad magic {} on export '{}'; closing the connection",
                            Integer.toHexString(request.magic()), export.name());
                    return;
                }
                if (request.type() == CMD_DISC) {
                    return; // outstanding requests are answered first, as the protocol requires (below)
                }
                if (!dispatch(request)) {
                    return;
                }
            }
        } catch (ClosedChannelException | EOFException e) {
            log.debug("connection to export '{}' ended: {}", export.name(), e.toString());
        } finally {
            try {
                replies.flushBatch();
            } catch (IOException e) {
                log.debug("cannot send replies on export '{}': {}", export.name(), e.toString());
            }
            inflight.awaitIdle();
        }
    }

    /** Answers or hands off one request (reading the payload it carries); false when the connection must end. */
    private boolean dispatch(Request request) throws IOException {
        int type = request.type();
        int flags = request.flags();
        long cookie = request.cookie();
        long offset = request.offset();
        long length = request.length();
        int error = new RequestRules(image.size(), export.readOnly(), maxPayload, session.baseAllocation())
                .errorOf(type, flags, offset, length);
        if (type == CMD_WRITE) {
            if (length > maxPayload) {
                log.warn("NBD write of {} bytes exceeds the {} byte limit; closing the connection", length, maxPayload);
                return false;
            }
            int units = acquire(length);
            ByteBuffer payload;
            try {
                payload = buffers.acquire((int) length);
            } catch (OutOfMemoryError e) {
                // direct memory taken by something outside the budgets: this request fails, the connection goes on
                allowance.release(units);
                log.warn("no memory for a write of {} bytes on export '{}': {}", length, export.name(), e.toString());
                reader.skip(length);
                replies.flushBatch(); // in order
                replies.simple(cookie, ENOMEM, null);
                return true;
            } catch (RuntimeException e) {
                allowance.release(units);
                throw e;
            }
            try {
                reader.payload(payload);
            } catch (IOException e) {
                release(payload, units);
                throw e;
            }
            payload.flip();
            if (error != 0) {
                release(payload, units);
                replies.simple(cookie, error, null);
                return true;
            }
            if (!writeInline(cookie, flags, offset, payload, units)) {
                try {
                    inflight.start(() -> write(cookie, flags, offset, payload, units));
                } catch (IOException | RuntimeException e) {
                    release(payload, units); // never started: the budget must not keep it
                    throw e;
                }
            }
            return true;
        }
        if (error != 0) {
            if (type == CMD_READ) {
                replies.readError(cookie, error, "invalid read request");
            } else {
                replies.simple(cookie, error, null);
            }
            return true;
        }
        switch (type) {
            case CMD_READ -> read(cookie, offset, (int) length);
            case CMD_FLUSH -> inflight.start(() -> complete(cookie, image::flush));
            case CMD_TRIM -> inflight.start(() -> complete(cookie, () -> {
                if (length > 0) {
                    image.trim(offset, length);
                }
                fua(flags);
            }));
            case CMD_WRITE_ZEROES -> inflight.start(() -> complete(cookie, () -> {
                if (length > 0) {
                    image.writeZeroes(offset, length, (flags & CMD_FLAG_NO_HOLE) != 0);
                }
                fua(flags);
            }));
            case CMD_CACHE -> inflight.start(() -> complete(cookie, () -> image.cache(offset, length)));
            case CMD_BLOCK_STATUS -> inflight.start(() -> blockStatus(cookie, flags, offset, length));
            default -> throw new IllegalStateException("unchecked command " + type);
        }
        return true;
    }

    /**
     * A read. While reads are quick (local data in the page cache): a small one is answered by the reader itself
     * into its batch, a larger one sent by the reader straight from the image's file (sendfile). Otherwise, and for
     * what is not local (a chunk to fetch), on a thread of its own, so slow reads overlap. A sendfile is timed
     * without its waits for room in the socket: those are the client's pace, not the storage's.
     */
    private void read(long cookie, long offset, int length) throws IOException {
        LargeReadPath.Probe probe = null; // the probe timing this read when it is copied as one
        if (length == 0) {
            replies.flushBatch(); // in order
            replies.emptyRead(cookie);
            return;
        }
        boolean small = length <= BATCH_MAX_BYTES && LocalAccess.readsLocally(image, offset, length);
        boolean large = !small && LocalAccess.transfersDirectly(image, offset, length);
        if ((small || large) && inlineReads.inline()) {
            if (small) {
                long start = System.nanoTime();
                if (replies.batchRead(cookie, offset, length, dst -> image.read(dst, offset))) {
                    inlineReads.measured(System.nanoTime() - start, length);
                    return;
                } // a failing read is retried on its own thread, which reports the error
            } else {
                replies.flushBatch(); // in order: the batch's replies were ready first
                LargeReadPath.Choice choice = largeReads.next(length);
                logRates();
                if (choice.sendfile()) {
                    long start = System.nanoTime();
                    long waited = transfer(cookie, offset, length);
                    inlineReads.measured(System.nanoTime() - start - waited, length); // the storage's, not the client's
                    if (choice.probe() != null) {
                        choice.probe().answered(System.nanoTime(), channel.isOpen());
                    }
                    largeReads.readerDone();
                    return;
                }
                probe = choice.probe();
            }
        }
        LargeReadPath.Probe timing = probe;
        int units = -1;
        try {
            units = acquire(length);
            int held = units;
            inflight.start(() -> read(cookie, offset, length, held, timing));
        } catch (IOException | RuntimeException e) {
            if (units >= 0) {
                allowance.release(units); // never started: the budget must not keep it
            }
            if (timing != null) {
                timing.answered(System.nanoTime(), false);
            }
            throw e;
        } finally {
            if (large) {
                largeReads.readerDone();
            }
        }
    }

    /**
     * A read sent straight from the image's file; returns the nanoseconds it waited for the client to take bytes. A
     * failure midway leaves the stream broken, so the connection ends.
     */
    private long transfer(long cookie, long offset, int length) {
        try {
            return replies.readTransfer(cookie, offset, length, image);
        } catch (IOException | RuntimeException e) {
            log.warn("read of {} bytes at {} from export '{}' failed after its reply began: {}; closing the connection",
                    length, offset, export.name(), e.toString());
            try {
                channel.close();
            } catch (IOException closeFailed) {
                log.debug("closing the connection: {}", closeFailed.toString());
            }
            return 0;
        }
    }

    /** A small write of local data without FUA, done by the reader with its reply in the batch; false to hand it off. */
    private boolean writeInline(long cookie, int flags, long offset, ByteBuffer payload, int units) throws IOException {
        int length = payload.remaining();
        if (length > INLINE_WRITE_MAX_BYTES || (flags & CMD_FLAG_FUA) != 0
                || !(image instanceof LocalAccess local && local.writesLocally(offset, length)) || !inlineWrites.inline()) {
            return false;
        }
        long start = System.nanoTime();
        int error = 0;
        try {
            image.write(payload, offset);
        } catch (IOException | RuntimeException e) {
            log.warn("write of {} bytes at {} on export '{}' failed: {}", length, offset, export.name(), e.toString());
            error = errorOf(e);
        } finally {
            release(payload, units);
        }
        inlineWrites.measured(System.nanoTime() - start, length);
        replies.batchSimple(cookie, error);
        return true;
    }

    /**
     * Logs what a connection's measurement of its large-read paths found, once per measurement: at INFO when the
     * choice is not the usual one (sendfile) or changed, else at DEBUG.
     */
    private void logRates() {
        LargeReadPath.Rates rates = largeReads.rates();
        if (rates == null || rates == loggedRates) {
            return;
        }
        boolean changed = loggedRates == null ? !rates.sendfile() : loggedRates.sendfile() != rates.sendfile();
        loggedRates = rates;
        String format = "export '{}': large reads {} (measured: sendfile {} MiB/s, copied {} MiB/s)";
        Object[] args = {export.name(), rates.sendfile() ? "by sendfile" : "copied",
                Math.round(rates.sendfileBytesPerSecond() / (1 << 20)), Math.round(rates.copyBytesPerSecond() / (1 << 20))};
        if (changed) {
            log.info(format, args);
        } else {
            log.debug(format, args);
        }
    }

    /** A read on a thread of its own; {@code probe}, when not null, is told when its reply is sent. */
    private void read(long cookie, long offset, int length, int units, LargeReadPath.Probe probe) {
        boolean answered = false;
        try {
            answered = read(cookie, offset, length, units);
        } finally {
            if (probe != null) {
                probe.answered(System.nanoTime(), answered);
            }
        }
    }

    /** Returns whether the data was sent. */
    private boolean read(long cookie, long offset, int length, int units) {
        ByteBuffer data;
        try {
            data = buffers.acquire(length);
        } catch (RuntimeException | OutOfMemoryError e) {
            allowance.release(units);
            log.warn("no memory for a read of {} bytes on export '{}': {}", length, export.name(), e.toString());
            try {
                replies.readError(cookie, ENOMEM, "no memory for the read");
            } catch (IOException sendFailed) {
                log.debug("cannot send a reply on export '{}': {}", export.name(), sendFailed.toString());
            }
            return false;
        }
        try {
            try {
                image.read(data, offset);
            } catch (IOException | RuntimeException e) {
                log.warn("read of {} bytes at {} from export '{}' failed: {}", length, offset, export.name(), e.toString());
                replies.readError(cookie, EIO, "read failed: " + e.getMessage());
                return false;
            }
            replies.readData(cookie, offset, data.flip());
            return true;
        } catch (IOException e) {
            log.debug("cannot send a reply on export '{}': {}", export.name(), e.toString());
            return false;
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
                replies.errorChunk(cookie, EIO, "block status failed: " + e.getMessage());
                return;
            }
            if ((flags & CMD_FLAG_REQ_ONE) != 0) {
                Extent first = extents.getFirst();
                extents = List.of(new Extent(Math.min(first.length(), length), first.flags()));
            }
            replies.blockStatus(cookie, extents);
        } catch (IOException e) {
            log.debug("cannot send a reply on export '{}': {}", export.name(), e.toString());
        }
    }

    private void write(long cookie, int flags, long offset, ByteBuffer payload, int units) {
        try {
            complete(cookie, () -> {
                image.write(payload, offset);
                if ((flags & CMD_FLAG_FUA) != 0) {
                    image.flush();
                }
            });
        } finally {
            release(payload, units);
        }
    }

    private interface ImageOp {
        void run() throws IOException;
    }

    /** ENOSPC for a full disk (the client may report it as such), EIO for anything else. */
    private static int errorOf(Exception e) {
        return e instanceof IOException io && LinuxFiles.isNoSpace(io) ? ENOSPC : EIO;
    }

    private void complete(long cookie, ImageOp op) {
        int error = 0;
        try {
            op.run();
        } catch (IOException | RuntimeException e) {
            log.warn("request on export '{}' failed: {}", export.name(), e.toString());
            error = errorOf(e);
        }
        try {
            replies.simple(cookie, error, null);
        } catch (IOException e) {
            log.debug("cannot send a reply on export '{}': {}", export.name(), e.toString());
        }
    }

    private void fua(int flags) throws IOException {
        if ((flags & CMD_FLAG_FUA) != 0) {
            image.flush();
        }
    }

    /** Takes the payload budget for {@code length} bytes, waiting for others to give some back if need be. */
    private int acquire(long length) throws IOException {
        int units = allowance.unitsFor(length);
        if (allowance.tryAcquire(units)) {
            return units;
        }
        replies.flushBatch(); // nothing of ours waits in the batch while we wait for others
        try {
            allowance.acquire(units);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClosedChannelException();
        }
        return units;
    }

    private void release(ByteBuffer buffer, int units) {
        buffers.release(buffer);
        allowance.release(units);
    }
}
