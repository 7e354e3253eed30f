package io.tmount.image;

import io.tmount.os.LinuxFiles;
import io.tmount.store.ObjectInfo;
import io.tmount.store.ObjectStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One build's data (its stored object, or the uncompressed bytes of its compressed object), fetched in chunks on
 * first touch from a {@link ChunkSource} and kept in a sparse local file, shared by every mount that reads it.
 * Concurrent readers of a missing chunk share one fetch. Readers pin the chunks they read; eviction skips pinned
 * chunks. A chunk the source cannot fill whole (a compressed object known only by a trimmed frame table) is never
 * cached: reads of it go straight to the source.
 *
 * <p>A façade over three parts: {@link ChunkStates} (present, pinned, last used: the pin/evict protocol),
 * {@link ChunkFetcher} (filling missing chunks) and {@link SavedChunks} (the durable index: a chunk is listed only
 * after its bytes are synced and forgotten before they go). A fetched chunk serves readers at once (from the page
 * cache); within a second a flush makes it durable.
 */
public final class ChunkCache implements BuildData {

    /**
     * Reads this large get a file descriptor of their own. The kernel keeps readahead state per descriptor: random
     * reads through the shared one left it unable to ramp up for the next sequential stream (a cold sequential read
     * through a mount after 8 s of 4k random reads: 503-588 MiB/s with the shared one, 1296-1367 with its own).
     * Small reads are random anyway, and an open costs more than they do.
     */
    private static final int OWN_DESCRIPTOR_BYTES = 64 * 1024;
    private static final int FETCH_WINDOW = 8;

    private static final Logger log = LoggerFactory.getLogger(ChunkCache.class);

    private final ChunkSource source;
    private final String key;
    private final long size;
    private final int chunkSize;
    private final CacheBudget budget;
    private final Path dataFile;
    private final FileChannel data;
    private final int holeFd;
    private final ChunkStates states;
    private final SavedChunks saved;
    private final FetchPipeline pipeline;
    private final ChunkFetcher fetcher;
    /** Chunks kept from an earlier run, checked on first read (null: the build has no digests to check against). */
    private final InheritedChunks inherited;
    private final AtomicLong hits = new AtomicLong();
    private boolean closed; // guarded by this

    private ChunkCache(ChunkSource source, int chunkSize, CacheBudget budget, Path dataFile, FileChannel data,
                       int holeFd, ChunkIndex index, BitSet listed, FetchPipeline pipeline) {
        this.source = source;
        this.key = source.name();
        this.size = source.size();
        this.chunkSize = chunkSize;
        this.budget = budget;
        this.dataFile = dataFile;
        this.data = data;
        this.holeFd = holeFd;
        this.states = new ChunkStates((int) ((size + chunkSize - 1) / chunkSize));
        this.saved = new SavedChunks(index, key, listed);
        this.pipeline = pipeline;
        this.fetcher = new ChunkFetcher(source, states, saved, budget, data, dataFile, chunkSize, pipeline);
        listed.stream().forEach(states::markPresent);
        this.inherited = source instanceof VerifiedSource verified ? new InheritedChunks(verified, data, chunkSize, listed)
                : null;
    }

    /**
     * Opens the cache of a stored (uncompressed) object, with a fetch pipeline of its own (the default policy); see
     * {@link #open(ChunkSource, int, Path, CacheBudget, FetchPipeline)}.
     */
    public static ChunkCache open(ObjectStore store, String key, ObjectInfo object, int chunkSize, Path dir,
                                  CacheBudget budget) throws IOException {
        return open(new StoredObject(store, key, object), chunkSize, dir, budget);
    }

    static ChunkCache open(ChunkSource source, int chunkSize, Path dir, CacheBudget budget) throws IOException {
        return open(source, chunkSize, dir, budget, FetchPipeline.of(FetchPolicy.DEFAULT));
    }

    /**
     * Opens the cache of {@code source} in {@code dir}, keeping the chunks a previous run saved in its index when
     * they were fetched from this very object (same store, key and version) with the same chunk size.
     */
    static ChunkCache open(ChunkSource source, int chunkSize, Path dir, CacheBudget budget, FetchPipeline pipeline)
            throws IOException {
        checkChunkSize(chunkSize);
        Files.createDirectories(dir);
        Path dataFile = dir.resolve("data");
        long size = source.size();
        ChunkIndex index = new ChunkIndex(dir.resolve("index"), size, chunkSize, source.identity());
        BitSet listed = index.load();
        if (listed == null || !Files.exists(dataFile) || Files.size(dataFile) != size) {
            listed = new BitSet();
            index.delete(); // nothing trustworthy: start sparse and empty, and never trust that index again
            Files.deleteIfExists(dataFile);
        }
        long chunkCount = (size + chunkSize - 1) / chunkSize;
        listed.clear((int) chunkCount, Math.max((int) chunkCount, listed.length()));
        try (RandomAccessFile file = new RandomAccessFile(dataFile.toFile(), "rw")) {
            file.setLength(size); // sparse: untouched chunks cost no disk
        }
        FileChannel data = FileChannel.open(dataFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            int holeFd = LinuxFiles.openReadWrite(dataFile);
            ChunkCache cache = new ChunkCache(source, chunkSize, budget, dataFile, data, holeFd, index, listed,
                    pipeline);
            budget.register(cache, cache.presentBytes());
            return cache;
        } catch (IOException | RuntimeException e) {
            data.close();
            throw e;
        }
    }

    /** Refuses a chunk size the cache cannot use: chunks are whole pages, and offsets map to chunks by shifts. */
    public static void checkChunkSize(int chunkSize) {
        if (chunkSize < 4096 || Integer.bitCount(chunkSize) != 1) {
            throw new IllegalArgumentException("chunk size (" + chunkSize + ") must be a power of two of at least 4096");
        }
    }

    @Override
    public long size() {
        return size;
    }

    public int chunkSize() {
        return chunkSize;
    }

    /** Fills {@code dst} from object offset {@code offset}, fetching missing chunks; may fetch one chunk ahead. */
    @Override
    public void read(ByteBuffer dst, long offset, ReadAhead readAhead) throws IOException {
        if (!complete(offset, dst.remaining())) {
            source.read(offset, dst); // a chunk the source cannot fill whole is never cached
            return;
        }
        ChunkFetcher.EarlyRead early = copyEarly(dst, offset, readAhead);
        if (early == ChunkFetcher.EarlyRead.COPIED) {
            return;
        }
        serve(offset, dst.remaining(), readAhead, early == ChunkFetcher.EarlyRead.WAITED, file -> {
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
    @Override
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

    /**
     * A read within one missing chunk: copied from the chunk's fetch as soon as its bytes arrive, not after the whole
     * chunk is in the cache. Otherwise {@code dst} untouched, and whether this reader waited for a fetch (not a hit).
     */
    private ChunkFetcher.EarlyRead copyEarly(ByteBuffer dst, long offset, ReadAhead readAhead) throws IOException {
        int length = dst.remaining();
        if (length == 0 || offset < 0 || offset + length > size) {
            return ChunkFetcher.EarlyRead.PRESENT; // not for here: serve says what is wrong
        }
        int chunk = (int) (offset / chunkSize);
        if ((offset + length - 1) / chunkSize != chunk) {
            return ChunkFetcher.EarlyRead.PRESENT;
        }
        ChunkFetcher.EarlyRead early = fetcher.copyEarly(chunk, (int) (offset - (long) chunk * chunkSize), dst);
        if (early == ChunkFetcher.EarlyRead.COPIED) {
            readAhead(chunk, chunk, readAhead);
        }
        return early;
    }

    private interface Io {
        void run(FileChannel file) throws IOException;
    }

    /** Runs {@code io} on the cache file once the range's chunks are present, pinned so eviction leaves them. */
    private void serve(long offset, int length, ReadAhead readAhead, Io io) throws IOException {
        serve(offset, length, readAhead, false, io);
    }

    /** As above; {@code waited}: the reader already waited for one of the chunks' fetches (a miss, not a hit). */
    private void serve(long offset, int length, ReadAhead readAhead, boolean waited, Io io) throws IOException {
        if (length == 0) {
            return;
        }
        if (offset < 0 || offset + length > size) {
            throw new EOFException("read of " + length + " bytes at " + offset + " is outside " + key + " (" + size + " bytes)");
        }
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + length - 1) / chunkSize);
        for (int c = first; c <= last; c++) {
            states.pin(c);
        }
        try {
            boolean hit = !waited;
            for (int c = first; c <= last; c++) {
                hit &= !fetcher.awaitPresent(c);
                if (inherited != null) {
                    inherited.check(c);
                }
            }
            if (hit) {
                hits.incrementAndGet();
            }
            long stamp = budget.tick();
            for (int c = first; c <= last; c++) {
                states.used(c, stamp);
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
                states.unpin(c);
            }
        }
        readAhead(first, last, readAhead);
    }

    /** Tells the reader's stream it read chunks {@code first..last}, and fetches ahead what it asks for. */
    private void readAhead(int first, int last, ReadAhead readAhead) {
        if (readAhead != null) {
            int window = readAhead.next(first, last);
            for (int c = last + 1; c <= Math.min(states.count() - 1, last + window); c++) {
                prefetch(c);
            }
        }
    }

    /**
     * Fetches every missing chunk of {@code [offset, offset + length)} and returns once they are all present (NBD_CMD_CACHE),
     * a few chunks at a time so a large range does not hold many fetch buffers at once.
     */
    @Override
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
                states.pin(c);
                try {
                    fetcher.awaitPresent(c);
                    states.used(c, budget.tick());
                } finally {
                    states.unpin(c);
                }
            }
        }
    }

    /**
     * How the object is allocated in {@code [offset, offset + length)}: where the store is a folder on this host and
     * the object is stored as it is, the holes of its sparse file (chunks never fetched included); elsewhere all of
     * it is data.
     */
    @Override
    public boolean extents(long offset, long length, Extents out) throws IOException {
        return source.extents(offset, length, out);
    }

    ChunkSource source() {
        return source;
    }

    /** Whether every chunk of the range is here already (a read of it needs no fetch, unless it is evicted first). */
    @Override
    public boolean present(long offset, long length) {
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + Math.max(1, length) - 1) / chunkSize);
        for (int c = first; c <= last; c++) {
            if (!states.present(c)) {
                return false;
            }
        }
        return true;
    }

    /** Has a chunk fetched ahead of a reader, without waiting for it. */
    public void prefetch(int chunk) {
        prefetch(chunk, FetchPipeline.Priority.READ_AHEAD);
    }

    private CompletableFuture<Void> prefetch(int chunk, FetchPipeline.Priority priority) {
        if (!states.present(chunk) && complete(chunk)) {
            return fetcher.start(chunk, priority);
        }
        return CompletableFuture.completedFuture(null);
    }

    /** Fetches the range's missing chunks at background priority, behind readers and read-ahead. */
    @Override
    public CompletableFuture<Void> prefetch(long offset, long length) {
        if (length <= 0) {
            return CompletableFuture.completedFuture(null);
        }
        int first = (int) (offset / chunkSize);
        int last = (int) ((offset + length - 1) / chunkSize);
        CompletableFuture<?>[] fetches = new CompletableFuture<?>[last - first + 1];
        for (int c = first; c <= last; c++) {
            fetches[c - first] = prefetch(c, FetchPipeline.Priority.BACKGROUND);
        }
        return CompletableFuture.allOf(fetches);
    }

    @Override
    public ReadAhead newReadAhead() {
        return pipeline.newReadAhead();
    }

    /** Syncs fetched chunks and lists them in the saved index (done within a second of a fetch anyway). */
    public void flush() throws IOException {
        saved.flush(states, data);
    }

    /** Calls {@code visitor} with each present chunk nobody is reading, and when it was last used. */
    void forEachEvictable(ChunkStates.ChunkVisitor visitor) {
        states.forEachEvictable(visitor);
    }

    /** Evicts a chunk unless someone is reading it. */
    boolean tryEvict(int chunk) {
        return evict(List.of(chunk)) > 0;
    }

    /**
     * Evicts those of {@code chunks} nobody is reading, with one write of the saved index (which forgets them before
     * their bytes go); returns the bytes evicted, which the budget no longer counts.
     */
    synchronized long evict(List<Integer> chunks) {
        if (closed) {
            return 0; // closing: its files are going, and the budget no longer counts it
        }
        List<Integer> held = new ArrayList<>(chunks.size());
        for (int chunk : chunks) {
            if (states.holdForEviction(chunk)) {
                held.add(chunk);
            }
        }
        List<Integer> gone;
        try {
            gone = saved.forget(states, held);
        } catch (RuntimeException e) {
            held.forEach(states::release);
            throw e;
        }
        Set<Integer> evicted = new HashSet<>(gone);
        held.stream().filter(chunk -> !evicted.contains(chunk)).forEach(states::release); // kept: let go at once
        long freed = 0;
        for (int chunk : gone) {
            freed += chunkLength(chunk);
            try {
                LinuxFiles.punchHoleIfSupported(holeFd, (long) chunk * chunkSize, chunkLength(chunk));
            } catch (IOException e) { // absent all the same: a later fetch writes over the bytes left
                log.warn("cannot free the disk space of chunk {} of {}: {}", chunk, key, e.getMessage());
            } finally {
                states.release(chunk); // its readers wait for its own punch only, not the whole batch's
            }
        }
        budget.removed(freed);
        return freed;
    }

    /** How many times the saved index was written. */
    long indexSaves() {
        return saved.saves();
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

    int chunkLength(int chunk) {
        return (int) Math.min(chunkSize, size - (long) chunk * chunkSize);
    }

    private long presentBytes() {
        long present = 0;
        for (int c = 0; c < states.count(); c++) {
            if (states.present(c)) {
                present += chunkLength(c);
            }
        }
        return present;
    }

    @Override
    public CacheStats stats() {
        return new CacheStats(key, size, presentBytes(), fetcher.fetchedBytes(), fetcher.fetches(), hits.get(), false);
    }

    @Override
    public void close() throws IOException {
        synchronized (this) { // after any eviction in progress, and none after it: its hole punches need the files
            closed = true;
        }
        budget.unregister(this, presentBytes());
        try {
            saved.close(states, data);
        } finally {
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
}
