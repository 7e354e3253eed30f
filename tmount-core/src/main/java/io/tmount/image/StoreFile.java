package io.tmount.image;

import io.tmount.os.LinuxFiles;
import io.tmount.store.ObjectInfo;
import io.tmount.store.ObjectStore;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A build object in a store that is a folder on this host, stored as it is: served straight from the store's file,
 * with no chunk cache in between (no copy, no disk of its own, nothing for the budget to count). Objects are immutable
 * and replaced only by rename, and the file stays open: a replaced or deleted object keeps serving the version this
 * was opened on, never a mix. Where the build has a digest list, each chunk is checked against it the first time it
 * is read in this process (a chunk that does not match is an I/O error for its readers). Ahead of a sequential reader,
 * the kernel is asked to read the next chunks into the page cache (and they are checked, in the background).
 */
public final class StoreFile implements BuildData {

    /** Reads this large get a descriptor of their own, for the kernel's readahead state (see {@link ChunkCache}). */
    private static final int OWN_DESCRIPTOR_BYTES = 64 * 1024;

    private final Path path;
    private final String key;
    private final long size;
    private final int chunkSize;
    private final FileChannel file;
    private final int fd;
    /** Null: no digest list, nothing to check. */
    private final ChunkDigests digests;
    private final AtomicBits checked;
    /** Checks run in the fetch pipeline, within its limits: a trace replay must not start thousands at once. */
    private final FetchPipeline pipeline;
    private final FetchBuffers buffers = new FetchBuffers();
    private final ConcurrentHashMap<Integer, Check> checking = new ConcurrentHashMap<>();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong checks = new AtomicLong();

    /** A chunk's check, queued or running, and what its waiters wait on. */
    private record Check(CompletableFuture<Void> done, FetchPipeline.Ticket ticket) {
    }

    private StoreFile(Path path, String key, long size, int chunkSize, FileChannel file, int fd, ChunkDigests digests,
                      FetchPipeline pipeline) {
        this.pipeline = pipeline;
        this.path = path;
        this.key = key;
        this.size = size;
        this.chunkSize = chunkSize;
        this.file = file;
        this.fd = fd;
        this.digests = digests;
        this.checked = new AtomicBits((size + chunkSize - 1) / chunkSize);
    }

    /**
     * Opens {@code key} of a store on this host, if it is still the version {@code object} describes (else empty: the
     * caller reads it through a chunk cache, whose identity check covers a replaced object). {@code digests} may be
     * null; when given, its blocks must divide {@code chunkSize}.
     */
    static Optional<StoreFile> open(ObjectStore store, String key, ObjectInfo object, int chunkSize,
                                    ChunkDigests digests, FetchPipeline pipeline) throws IOException {
        Optional<Path> root = store.localRoot();
        if (root.isEmpty()) {
            return Optional.empty();
        }
        Path path = root.get().resolve(key);
        FileChannel file = FileChannel.open(path, StandardOpenOption.READ);
        int fd = -1;
        try {
            fd = LinuxFiles.openReadOnly(path);
            // the version before the opens and after them are the same: so both descriptors are of that version
            if (!store.info(key).equals(object) || file.size() != object.size()) {
                LinuxFiles.close(fd);
                file.close();
                return Optional.empty();
            }
            return Optional.of(new StoreFile(path, key, object.size(), chunkSize, file, fd, digests, pipeline));
        } catch (IOException | RuntimeException e) {
            if (fd >= 0) {
                LinuxFiles.close(fd);
            }
            file.close();
            throw e;
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(ByteBuffer dst, long offset, ReadAhead readAhead) throws IOException {
        serve(offset, dst.remaining(), readAhead, channel -> {
            long position = offset;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, position);
                if (n < 0) {
                    throw new EOFException(path + " is shorter than it was when opened");
                }
                position += n;
            }
        });
    }

    @Override
    public long transferTo(long offset, int length, WritableByteChannel target, ReadAhead readAhead)
            throws IOException {
        long[] waited = {0};
        serve(offset, length, readAhead, channel -> waited[0] = Sendfile.send(channel, offset, length, target, path));
        return waited[0];
    }

    private interface Io {
        void run(FileChannel channel) throws IOException;
    }

    private void serve(long offset, int length, ReadAhead readAhead, Io io) throws IOException {
        if (length == 0) {
            return;
        }
        if (offset < 0 || offset + length > size) {
            throw new EOFException("read of " + length + " bytes at " + offset + " is outside " + key + " (" + size
                    + " bytes)");
        }
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + length - 1) / chunkSize);
        boolean hit = true;
        for (int c = first; c <= last; c++) {
            hit &= !awaitChecked(c);
        }
        if (hit) {
            hits.incrementAndGet();
        }
        if (length < OWN_DESCRIPTOR_BYTES) {
            io.run(file);
        } else {
            try (FileChannel own = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ)) {
                io.run(own); // the same open file's inode, with readahead state of its own
            }
        }
        if (readAhead != null) {
            int window = readAhead.next(first, last);
            long end = Math.min(chunkCount() - 1, last + window);
            long from = readAhead.claim(last + 1, end);
            if (from <= end) {
                // each request reads through a descriptor of its own, whose readahead starts from nothing: the
                // stream's own window tells the kernel what comes next
                long start = from * chunkSize;
                LinuxFiles.adviseWillNeed(fd, start, Math.min(size, (end + 1) * chunkSize) - start);
            }
            for (long c = from; c <= end && digests != null; c++) {
                startCheck((int) c, FetchPipeline.Priority.READ_AHEAD);
            }
        }
    }

    /** The window of the pipeline's policy: how far ahead the kernel is asked to read, and chunks are checked. */
    @Override
    public ReadAhead newReadAhead() {
        return pipeline.newReadAhead();
    }

    @Override
    public boolean present(long offset, long length) {
        if (digests == null) {
            return true;
        }
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + Math.max(1, length) - 1) / chunkSize);
        for (int c = first; c <= last; c++) {
            if (!checked.get(c)) {
                return false;
            }
        }
        return true;
    }

    /** Checks the range's chunks and asks the kernel to read them into the page cache. */
    @Override
    public void fetch(long offset, long length) throws IOException {
        if (length <= 0) {
            return;
        }
        LinuxFiles.adviseWillNeed(fd, offset, Math.min(length, size - offset));
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + length - 1) / chunkSize);
        for (int c = first; c <= last; c++) {
            awaitChecked(c);
        }
    }

    /** Asks the kernel to read the range into the page cache, and checks its chunks in the background. */
    @Override
    public CompletableFuture<Void> prefetch(long offset, long length) {
        if (length <= 0) {
            return CompletableFuture.completedFuture(null);
        }
        LinuxFiles.adviseWillNeed(fd, offset, Math.min(length, size - offset));
        if (digests == null) {
            return CompletableFuture.completedFuture(null);
        }
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + length - 1) / chunkSize);
        CompletableFuture<?>[] checks = new CompletableFuture<?>[last - first + 1];
        for (int c = first; c <= last; c++) {
            checks[c - first] = startCheck(c, FetchPipeline.Priority.BACKGROUND);
        }
        return CompletableFuture.allOf(checks);
    }

    @Override
    public boolean extents(long offset, long length, Extents out) throws IOException {
        return SparseFiles.extents(fd, offset, length, out);
    }

    /** Present is what has been checked (all of it without digests); nothing is ever fetched. */
    @Override
    public CacheStats stats() {
        long present = size;
        if (digests != null) {
            present = 0;
            for (int c = 0; c < chunkCount(); c++) {
                present += checked.get(c) ? chunkLength(c) : 0;
            }
        }
        return new CacheStats(key, size, present, 0, 0, hits.get(), true);
    }

    /** How many chunks were checked against the digest list. */
    long checks() {
        return checks.get();
    }

    /** Waits until a chunk is checked; false when it was already. */
    private boolean awaitChecked(int chunk) throws IOException {
        if (digests == null || checked.get(chunk)) {
            return false;
        }
        try {
            startCheck(chunk, FetchPipeline.Priority.DEMAND).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while checking a chunk of " + key);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? new IOException(io.getMessage(), io)
                    : new IOException("cannot check a chunk of " + key + ": " + e.getCause(), e.getCause());
        }
        return true;
    }

    /**
     * Has a chunk checked in the pipeline at {@code priority}, once however many ask (a queued check moves up to the
     * highest priority asked); a failed check is tried again next time.
     */
    private CompletableFuture<Void> startCheck(int chunk, FetchPipeline.Priority priority) {
        if (checked.get(chunk)) {
            return CompletableFuture.completedFuture(null);
        }
        Check check = checking.computeIfAbsent(chunk, c -> {
            CompletableFuture<Void> done = new CompletableFuture<>();
            return new Check(done, pipeline.submit(this, priority, () -> checkInto(c, done)));
        });
        pipeline.raise(check.ticket(), priority);
        return check.done();
    }

    private void checkInto(int chunk, CompletableFuture<Void> done) {
        Throwable failure = null;
        try {
            if (!checked.get(chunk)) {
                check(chunk);
                checked.set(chunk);
            }
        } catch (Throwable t) {
            failure = t;
        } finally {
            checking.computeIfPresent(chunk, (c, check) -> check.done() == done ? null : check);
        }
        if (failure == null) {
            done.complete(null);
        } else {
            done.completeExceptionally(failure);
        }
    }

    private void check(int chunk) throws IOException {
        long start = (long) chunk * chunkSize;
        ByteBuffer bytes = buffers.take(chunkSize).limit(chunkLength(chunk));
        try {
            checkIn(chunk, start, bytes);
        } finally {
            buffers.give(bytes);
        }
    }

    private void checkIn(int chunk, long start, ByteBuffer bytes) throws IOException {
        for (int attempt = 1; ; attempt++) {
            bytes.clear().limit(chunkLength(chunk));
            while (bytes.hasRemaining()) {
                if (file.read(bytes, start + bytes.position()) < 0) {
                    break; // shorter than it should be: the check below fails it
                }
            }
            long bad = digests.mismatch(start, bytes.flip());
            if (bad < 0) {
                checks.incrementAndGet();
                return;
            }
            if (attempt == 2) {
                throw new IOException("the block at offset " + bad + " of " + key + " (" + path + ") does not match its "
                        + "SHA-256 twice: the stored object is damaged (see `tmount verify`)");
            }
        }
    }

    private int chunkCount() {
        return (int) ((size + chunkSize - 1) / chunkSize);
    }

    private int chunkLength(int chunk) {
        return (int) Math.min(chunkSize, size - (long) chunk * chunkSize);
    }

    @Override
    public void close() throws IOException {
        try {
            file.close();
        } finally {
            LinuxFiles.close(fd);
        }
    }
}
