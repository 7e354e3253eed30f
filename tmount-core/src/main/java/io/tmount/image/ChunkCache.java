package io.tmount.image;

import io.tmount.os.LinuxFiles;
import io.tmount.store.ObjectInfo;
import io.tmount.store.ObjectStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * One build's data (its stored object, or the uncompressed bytes of its compressed object), fetched in chunks on
 * first touch from a {@link ChunkSource} and kept in a sparse local file, shared by every mount that reads it.
 * Concurrent readers of a missing chunk share one fetch. Readers pin the chunks they read; eviction skips pinned
 * chunks. A chunk the source cannot fill whole (a compressed object known only by a trimmed frame table) is never
 * cached: reads of it go straight to the source.
 *
 * <p>Durability is batched off the read path: a fetched chunk serves readers at once (from the page cache), and
 * within a second a flush syncs the data file and only then adds the chunk to the saved index. The saved index thus
 * only ever lists chunks whose bytes are on disk, so a crash never leaves a torn chunk listed; it only forgets the
 * chunks of the last second, which are fetched again. Eviction removes a chunk from the saved index before its bytes
 * go.
 */
public final class ChunkCache implements AutoCloseable {

    /**
     * Reads this large get a file descriptor of their own. The kernel keeps readahead state per descriptor: random
     * reads through the shared one left it unable to ramp up for the next sequential stream (a cold sequential read
     * through a mount after 8 s of 4k random reads: 503-588 MiB/s with the shared one, 1296-1367 with its own).
     * Small reads are random anyway, and an open costs more than they do.
     */
    private static final int OWN_DESCRIPTOR_BYTES = 64 * 1024;

    private static final Logger log = LoggerFactory.getLogger(ChunkCache.class);
    private static final int ABSENT = 0;
    private static final int PRESENT = 1;
    private static final int EVICTING = -1;

    private final ChunkSource source;
    private final String key;
    private final long size;
    private final int chunkSize;
    private final int chunkCount;
    private final CacheBudget budget;
    private final Path dataFile;
    private final FileChannel data;
    private final int holeFd;
    private final ChunkIndex index;
    private final AtomicIntegerArray state;
    private final AtomicIntegerArray pins;
    private final AtomicLongArray lastUse;
    private final ConcurrentHashMap<Integer, CompletableFuture<Void>> fetching = new ConcurrentHashMap<>();
    private final BitSet durable; // chunks listed in the saved index; guarded by index
    private final AtomicBoolean flushScheduled = new AtomicBoolean();
    private volatile boolean closed;
    private static final long FLUSH_DELAY_MILLIS = 1000;
    private static final int FETCH_WINDOW = 8;
    private final AtomicLong fetchedBytes = new AtomicLong();
    private final AtomicLong fetches = new AtomicLong();
    private final AtomicLong hits = new AtomicLong();

    private ChunkCache(ChunkSource source, int chunkSize, CacheBudget budget, Path dataFile, FileChannel data,
                       int holeFd, ChunkIndex index) {
        this.source = source;
        this.key = source.name();
        this.size = source.size();
        this.chunkSize = chunkSize;
        this.chunkCount = (int) ((size + chunkSize - 1) / chunkSize);
        this.budget = budget;
        this.dataFile = dataFile;
        this.data = data;
        this.holeFd = holeFd;
        this.index = index;
        this.state = new AtomicIntegerArray(chunkCount);
        this.pins = new AtomicIntegerArray(chunkCount);
        this.lastUse = new AtomicLongArray(chunkCount);
        this.durable = new BitSet(chunkCount);
    }

    /** Opens the cache of a stored (uncompressed) object; see {@link #open(ChunkSource, int, Path, CacheBudget)}. */
    public static ChunkCache open(ObjectStore store, String key, ObjectInfo object, int chunkSize, Path dir,
                                  CacheBudget budget) throws IOException {
        return open(new StoredObject(store, key, object), chunkSize, dir, budget);
    }

    /**
     * Opens the cache of {@code source} in {@code dir}, keeping the chunks a previous run saved in its index when
     * they were fetched from this very object (same store, key and version) with the same chunk size.
     */
    static ChunkCache open(ChunkSource source, int chunkSize, Path dir, CacheBudget budget) throws IOException {
        if (chunkSize < 4096 || Integer.bitCount(chunkSize) != 1) {
            throw new IllegalArgumentException("chunk size (" + chunkSize + ") must be a power of two >= 4096");
        }
        Files.createDirectories(dir);
        Path dataFile = dir.resolve("data");
        long size = source.size();
        ChunkIndex index = new ChunkIndex(dir.resolve("index"), size, chunkSize, source.identity());
        BitSet saved = index.load();
        if (saved == null || !Files.exists(dataFile) || Files.size(dataFile) != size) {
            saved = null;
            index.delete(); // nothing trustworthy: start sparse and empty, and never trust that index again
            Files.deleteIfExists(dataFile);
        }
        try (RandomAccessFile file = new RandomAccessFile(dataFile.toFile(), "rw")) {
            file.setLength(size); // sparse: untouched chunks cost no disk
        }
        FileChannel data = FileChannel.open(dataFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            int holeFd = LinuxFiles.openReadWrite(dataFile);
            ChunkCache cache = new ChunkCache(source, chunkSize, budget, dataFile, data, holeFd, index);
            long present = 0;
            if (saved != null) {
                for (int c = saved.nextSetBit(0); c >= 0 && c < cache.chunkCount; c = saved.nextSetBit(c + 1)) {
                    cache.state.set(c, PRESENT);
                    cache.durable.set(c);
                    present += cache.chunkLength(c);
                }
            }
            budget.register(cache, present);
            return cache;
        } catch (IOException | RuntimeException e) {
            data.close();
            throw e;
        }
    }

    public long size() {
        return size;
    }

    public int chunkSize() {
        return chunkSize;
    }

    /** Fills {@code dst} from object offset {@code offset}, fetching missing chunks; may fetch one chunk ahead. */
    public void read(ByteBuffer dst, long offset, ReadAhead readAhead) throws IOException {
        if (!complete(offset, dst.remaining())) {
            source.read(offset, dst); // a chunk the source cannot fill whole is never cached
            return;
        }
        serve(offset, dst.remaining(), readAhead, file -> {
            long position = offset;
            while (dst.hasRemaining()) {
                int n = file.read(dst, position);
                if (n < 0) {
                    throw new EOFException("cache file of " + key + " is shorter than the object");
                }
                position += n;
            }
        });
    }

    /**
     * As {@link #read}, but sends the bytes to {@code target} straight from the cache file (sendfile); returns the
     * nanoseconds spent waiting for room in the target.
     */
    public long transferTo(long offset, int length, WritableByteChannel target, ReadAhead readAhead)
            throws IOException {
        if (!complete(offset, length)) {
            ByteBuffer bytes = ByteBuffer.allocate(length);
            source.read(offset, bytes);
            long start = System.nanoTime();
            bytes.flip();
            while (bytes.hasRemaining()) {
                target.write(bytes);
            }
            return System.nanoTime() - start;
        }
        long[] waited = {0};
        serve(offset, length, readAhead,
                file -> waited[0] = Sendfile.send(file, offset, length, target, "cache file of " + key));
        return waited[0];
    }

    private interface Io {
        void run(FileChannel file) throws IOException;
    }

    /** Runs {@code io} on the cache file once the range's chunks are present, pinned so eviction leaves them. */
    private void serve(long offset, int length, ReadAhead readAhead, Io io) throws IOException {
        if (length == 0) {
            return;
        }
        if (offset < 0 || offset + length > size) {
            throw new EOFException("read of " + length + " bytes at " + offset + " is outside " + key + " (" + size + " bytes)");
        }
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + length - 1) / chunkSize);
        for (int c = first; c <= last; c++) {
            pin(c);
        }
        try {
            ensurePresent(first, last);
            long stamp = budget.tick();
            for (int c = first; c <= last; c++) {
                lastUse.set(c, stamp);
            }
            if (length < OWN_DESCRIPTOR_BYTES) {
                io.run(data);
            } else {
                try (FileChannel own = FileChannel.open(dataFile, StandardOpenOption.READ)) {
                    io.run(own);
                }
            }
        } finally {
            for (int c = first; c <= last; c++) {
                pins.decrementAndGet(c);
            }
        }
        if (readAhead != null) {
            int window = readAhead.next(first, last);
            for (int c = last + 1; c <= Math.min(chunkCount - 1, last + window); c++) {
                prefetch(c);
            }
        }
    }

    /**
     * Fetches every missing chunk of {@code [offset, offset + length)} and returns once they are all present (NBD_CMD_CACHE),
     * a few chunks at a time so a large range does not hold many fetch buffers at once.
     */
    public void fetch(long offset, long length) throws IOException {
        if (length <= 0) {
            return;
        }
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + length - 1) / chunkSize);
        for (int from = first; from <= last; from += FETCH_WINDOW) {
            int to = Math.min(last, from + FETCH_WINDOW - 1);
            for (int c = from; c <= to; c++) {
                prefetch(c);
            }
            for (int c = from; c <= to; c++) {
                if (!complete(c)) {
                    continue; // never cached: reads of it go to the source
                }
                pin(c);
                try {
                    ensurePresent(c, c);
                    lastUse.set(c, budget.tick());
                } finally {
                    pins.decrementAndGet(c);
                }
            }
        }
    }

    /**
     * How the object is allocated in {@code [offset, offset + length)}: where the store is a folder on this host and
     * the object is stored as it is, the holes of its sparse file (chunks never fetched included); elsewhere all of
     * it is data.
     */
    public boolean extents(long offset, long length, Extents out) throws IOException {
        return source.extents(offset, length, out);
    }

    ChunkSource source() {
        return source;
    }

    /** Whether every chunk of the range is here already (a read of it needs no fetch, unless it is evicted first). */
    public boolean present(long offset, long length) {
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + Math.max(1, length) - 1) / chunkSize);
        for (int c = first; c <= last; c++) {
            if (state.get(c) != PRESENT) {
                return false;
            }
        }
        return true;
    }

    /** Starts fetching a chunk without waiting for it. */
    public void prefetch(int chunk) {
        if (state.get(chunk) != PRESENT && complete(chunk)) {
            fetching.computeIfAbsent(chunk, this::startFetch);
        }
    }

    private void pin(int chunk) {
        while (true) {
            int pinned = pins.get(chunk);
            if (pinned == EVICTING) {
                Thread.yield(); // eviction of this chunk takes an index write and a hole punch
            } else if (pins.compareAndSet(chunk, pinned, pinned + 1)) {
                return;
            }
        }
    }

    /** Waits until chunks first..last, which the caller has pinned, are present (fetching them as needed). */
    private void ensurePresent(int first, int last) throws IOException {
        boolean hit = true;
        for (int c = first; c <= last; c++) {
            // loops: a shared fetch may have been started before this reader's pin and its chunk evicted since
            while (state.get(c) != PRESENT) {
                hit = false;
                await(fetching.computeIfAbsent(c, this::startFetch));
            }
        }
        if (hit) {
            hits.incrementAndGet();
        }
    }

    private void await(CompletableFuture<?> wait) throws IOException {
        try {
            wait.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while fetching a chunk of " + key);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof CompletionException ce ? ce.getCause() : e.getCause();
            throw new IOException(cause instanceof CacheWriteException ? cause.getMessage()
                    : "cannot fetch a chunk of " + key + " from the store: " + cause.getMessage(), cause);
        }
    }

    /**
     * Fetches a chunk on a virtual thread. The fetch holds a pin on its chunk from before it looks at the chunk's state
     * until it has left {@code fetching}: so it never writes into a chunk being evicted (whose hole punch would land
     * after the write), and the chunk cannot be evicted between being marked present and its waiters waking up.
     */
    private CompletableFuture<Void> startFetch(int chunk) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofVirtual().name("fetch-" + chunk).start(() -> {
            pin(chunk);
            boolean fetched = false;
            Throwable failure = null;
            try {
                if (state.get(chunk) != PRESENT) {
                    fetch(chunk);
                    fetched = true;
                }
            } catch (Throwable t) {
                failure = t; // a later read tries again
            } finally {
                fetching.remove(chunk, done);
                pins.decrementAndGet(chunk);
            }
            if (fetched) {
                // before waking the waiters (who hold pins on what they read), so a read returns within the budget
                budget.added(chunkLength(chunk));
            }
            if (failure == null) {
                done.complete(null);
            } else {
                done.completeExceptionally(failure);
            }
        });
        return done;
    }

    private void fetch(int chunk) throws IOException {
        long start = (long) chunk * chunkSize;
        int length = chunkLength(chunk);
        ByteBuffer buffer = budget.buffers().take(chunkSize);
        try {
            buffer.limit(length);
            source.read(start, buffer);
            buffer.flip();
            try {
                write(buffer, start);
            } catch (IOException full) {
                if (!LinuxFiles.isNoSpace(full) || budget.reclaim(length) == 0) {
                    throw noSpace(full);
                }
                write(buffer.rewind(), start); // room made by evicting other chunks
            }
        } finally {
            budget.buffers().give(buffer);
        }
        state.set(chunk, PRESENT); // readers may use it now; the saved index lists it only after the next flush
        lastUse.set(chunk, budget.tick());
        fetchedBytes.addAndGet(length);
        fetches.incrementAndGet();
        scheduleFlush();
    }

    private void write(ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            position += data.write(buffer, position);
        }
    }

    /** A write into the cache that failed: named as the state dir's disk when it is full, never as the store. */
    private IOException noSpace(IOException e) {
        if (!LinuxFiles.isNoSpace(e)) {
            return new CacheWriteException("cannot write to the chunk cache " + dataFile + ": " + e.getMessage(), e);
        }
        return new CacheWriteException("the chunk cache's disk is full (" + dataFile.getParent() + ": No space left "
                + "on device) and no cached chunk could be evicted; the overlays of writable mounts hold the rest", e);
    }

    /** The cache's own disk failed, not the store: said as it is, not as a fetch. */
    private static final class CacheWriteException extends IOException {
        CacheWriteException(String message, IOException cause) {
            super(message, cause);
        }
    }

    private void scheduleFlush() {
        if (flushScheduled.compareAndSet(false, true)) {
            Thread.ofVirtual().name("cache-flush").start(() -> {
                try {
                    Thread.sleep(FLUSH_DELAY_MILLIS);
                    flushScheduled.set(false);
                    if (!closed) { // close() flushed already
                        flush();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (IOException e) {
                    log.warn("cannot save the chunk index of {}: {}", key, e.getMessage());
                }
            });
        }
    }

    /**
     * Syncs the data file, then lists in the saved index the chunks that were present before the sync: the index
     * never names a chunk whose bytes might not be on disk.
     */
    public void flush() throws IOException {
        synchronized (index) {
            if (closed) {
                return;
            }
            BitSet pending = new BitSet(chunkCount);
            for (int c = 0; c < chunkCount; c++) {
                if (state.get(c) == PRESENT && !durable.get(c)) {
                    pending.set(c);
                }
            }
            if (pending.isEmpty()) {
                return;
            }
            data.force(false);
            for (int c = pending.nextSetBit(0); c >= 0; c = pending.nextSetBit(c + 1)) {
                if (state.get(c) == PRESENT) {
                    durable.set(c);
                }
            }
            index.save(durable);
        }
    }

    /** Calls {@code visitor} with each present chunk nobody is reading, and when it was last used. */
    void forEachEvictable(ChunkVisitor visitor) {
        for (int c = 0; c < chunkCount; c++) {
            if (state.get(c) == PRESENT && pins.get(c) == 0) {
                visitor.visit(c, lastUse.get(c));
            }
        }
    }

    interface ChunkVisitor {
        void visit(int chunk, long lastUse);
    }

    /** Evicts the chunk unless someone is reading it; the index forgets it before its bytes go. */
    boolean tryEvict(int chunk) {
        if (!pins.compareAndSet(chunk, 0, EVICTING)) {
            return false;
        }
        try {
            synchronized (index) {
                if (state.get(chunk) != PRESENT) {
                    return false;
                }
                state.set(chunk, ABSENT);
                if (durable.get(chunk)) {
                    durable.clear(chunk);
                    forgetOnDisk(); // forgotten on disk before its bytes go
                }
            }
            LinuxFiles.punchHoleIfSupported(holeFd, (long) chunk * chunkSize, chunkLength(chunk));
            budget.removed(chunkLength(chunk));
            return true;
        } catch (IOException e) {
            log.warn("cannot evict chunk {} of {}: {}", chunk, key, e.getMessage());
            return false;
        } finally {
            pins.set(chunk, 0);
        }
    }

    /**
     * Saves the index without the evicted chunk. On a full disk the new index cannot be written: then the index is
     * deleted instead (which needs no space), so after a crash the cache starts empty rather than naming a chunk
     * whose bytes are gone; the next flush writes it again.
     */
    private void forgetOnDisk() throws IOException {
        try {
            index.save(durable);
        } catch (IOException e) {
            index.delete();
            durable.clear();
            log.warn("cannot save the chunk index of {} ({}); deleted it: this cache starts empty after a crash",
                    key, e.getMessage());
        }
    }

    /** Whether the source can fill every chunk the range touches (a compressed object's table may have gaps). */
    private boolean complete(long offset, long length) {
        if (length <= 0) {
            return true;
        }
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + length - 1) / chunkSize);
        for (int c = first; c <= last; c++) {
            if (!complete(c)) {
                return false;
            }
        }
        return true;
    }

    private boolean complete(int chunk) {
        return source.covers((long) chunk * chunkSize, chunkLength(chunk));
    }

    private int chunkLength(int chunk) {
        return (int) Math.min(chunkSize, size - (long) chunk * chunkSize);
    }

    public CacheStats stats() {
        long present = 0;
        for (int c = 0; c < chunkCount; c++) {
            if (state.get(c) == PRESENT) {
                present += chunkLength(c);
            }
        }
        return new CacheStats(key, size, present, fetchedBytes.get(), fetches.get(), hits.get());
    }

    @Override
    public void close() throws IOException {
        long present = stats().presentBytes();
        budget.unregister(this, present);
        try {
            flush();
        } finally {
            synchronized (index) {
                closed = true;
            }
            closeFiles();
        }
    }

    private void closeFiles() throws IOException {
        try {
            data.close();
        } finally {
            try {
                LinuxFiles.close(holeFd);
            } finally {
                source.close();
            }
        }
    }
}
