package io.tmount.image;

import io.tmount.os.LinuxFiles;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fills a chunk cache's missing chunks from its source into its data file, each fetch run by the shared
 * {@link FetchPipeline} (a reader's at once, read-ahead and prefetch as the limits allow); concurrent readers of a
 * missing chunk share one fetch, and a reader that comes to wait for a queued one promotes it. On a full disk it asks
 * the budget to evict other chunks and tries once more; a disk failure is reported as the cache's own, never as the
 * store's.
 */
final class ChunkFetcher {

    /** A reader's part of a chunk is asked for from this boundary on. */
    static final int SPLIT_ALIGN = 64 * 1024;
    /** Below this, the part before a reader's bytes is not worth a request of its own. */
    static final int MIN_SPLIT = 256 * 1024;

    private final ChunkSource source;
    private final ChunkStates states;
    private final SavedChunks saved;
    private final CacheBudget budget;
    private final FileChannel data;
    private final Path dataFile;
    private final int chunkSize;
    private final long size;
    private final FetchPipeline pipeline;
    private final ConcurrentHashMap<Integer, Fetch> fetching = new ConcurrentHashMap<>();
    private final AtomicLong fetchedBytes = new AtomicLong();
    private final AtomicLong fetches = new AtomicLong();

    /** A chunk's fetch, queued or running, what its waiters wait on, and its bytes as they arrive. */
    private record Fetch(CompletableFuture<Void> done, FetchPipeline.Ticket ticket, EarlyBytes early) {
    }

    ChunkFetcher(ChunkSource source, ChunkStates states, SavedChunks saved, CacheBudget budget, FileChannel data,
                 Path dataFile, int chunkSize, FetchPipeline pipeline) {
        this.pipeline = pipeline;
        this.source = source;
        this.states = states;
        this.saved = saved;
        this.budget = budget;
        this.data = data;
        this.dataFile = dataFile;
        this.chunkSize = chunkSize;
        this.size = source.size();
    }

    long fetchedBytes() {
        return fetchedBytes.get();
    }

    long fetches() {
        return fetches.get();
    }

    /**
     * Has a chunk fetched without waiting for it, at {@code priority} (read-ahead or background); the future completes
     * when the fetch is done.
     */
    CompletableFuture<Void> start(int chunk, FetchPipeline.Priority priority) {
        Fetch fetch = fetching.computeIfAbsent(chunk, c -> submit(c, priority));
        pipeline.raise(fetch.ticket(), priority); // read-ahead of a chunk a trace replay queued goes first
        return fetch.done();
    }

    /** Waits until a chunk the caller has pinned is present; false when it was present already. */
    boolean awaitPresent(int chunk) throws IOException {
        boolean waited = false;
        // loops: a shared fetch may have been started before the caller's pin and its chunk evicted since
        while (!states.present(chunk)) {
            waited = true;
            Fetch fetch = fetching.computeIfAbsent(chunk, c -> submit(c, FetchPipeline.Priority.DEMAND));
            pipeline.promote(fetch.ticket()); // queued behind read-ahead or prefetch: a reader waits for it now
            await(fetch.done());
        }
        return waited;
    }

    /**
     * Copies {@code [from, from + dst.remaining())} of a missing chunk into {@code dst} as soon as its fetch (started,
     * or promoted, for this reader) has received those bytes; else, {@code dst} as it was, says whether the chunk was
     * present or the reader waited for the whole fetch: read the cache then. A fetch that failed first fails this read.
     */
    EarlyRead copyEarly(int chunk, int from, ByteBuffer dst) throws IOException {
        if (states.present(chunk)) {
            return EarlyRead.PRESENT;
        }
        Fetch fetch = fetching.computeIfAbsent(chunk, c -> submit(c, FetchPipeline.Priority.DEMAND, from));
        fetch.early().want(from); // a queued read-ahead or prefetch of the chunk, promoted now, may begin here too
        pipeline.promote(fetch.ticket());
        if (fetch.early().copy(from, dst)) {
            return EarlyRead.COPIED;
        }
        await(fetch.done()); // a failed fetch fails its waiting readers, as for any reader of the chunk
        return EarlyRead.WAITED;
    }

    /** How {@link #copyEarly} went: bytes copied; the chunk was present; or the reader waited for the whole fetch. */
    enum EarlyRead {
        COPIED, PRESENT, WAITED
    }

    private Fetch submit(int chunk, FetchPipeline.Priority priority) {
        return submit(chunk, priority, -1);
    }

    /** {@code wanted}: where in the chunk the reader submitting it needs bytes (-1: no reader). */
    private Fetch submit(int chunk, FetchPipeline.Priority priority, int wanted) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        EarlyBytes early = new EarlyBytes();
        if (wanted >= 0) {
            early.want(wanted); // before the pipeline may start it
        }
        return new Fetch(done, pipeline.submit(this, priority, () -> fetchInto(chunk, done, early)), early);
    }

    private void await(CompletableFuture<?> wait) throws IOException {
        try {
            wait.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while fetching a chunk of " + source.name());
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof CompletionException ce ? ce.getCause() : e.getCause();
            throw new IOException(cause instanceof CacheWriteException ? cause.getMessage()
                    : "cannot fetch a chunk of " + source.name() + " from the store: " + cause.getMessage(), cause);
        }
    }

    /**
     * Fetches a chunk (on the pipeline's virtual thread). The fetch holds a pin on its chunk from before it looks at the
     * chunk's state until it has left {@code fetching}: so it never writes into a chunk being evicted (whose hole punch
     * would land after the write), and the chunk cannot be evicted between being marked present and its waiters waking
     * up.
     */
    private void fetchInto(int chunk, CompletableFuture<Void> done, EarlyBytes early) {
        states.pin(chunk);
        boolean fetched = false;
        Throwable failure = null;
        try {
            if (!states.present(chunk)) {
                fetch(chunk, early);
                fetched = true;
            }
        } catch (Throwable t) {
            failure = t; // a later read tries again
        } finally {
            early.end(); // readers still waiting for bytes read the cache (or see the failure) instead
            fetching.computeIfPresent(chunk, (c, fetch) -> fetch.done() == done ? null : fetch);
            states.unpin(chunk);
        }
        if (fetched) {
            // before waking the waiters (who hold pins on what they read), so a read returns within the budget
            budget.added(length(chunk));
        }
        if (failure == null) {
            done.complete(null);
        } else {
            done.completeExceptionally(failure);
        }
    }

    private void fetch(int chunk, EarlyBytes early) throws IOException {
        long start = (long) chunk * chunkSize;
        int length = length(chunk);
        ByteBuffer buffer = budget.buffers().take(chunkSize);
        try {
            buffer.limit(length);
            int split = splitAt(early.wanted(), length);
            early.started(buffer, split);
            if (split == 0) {
                source.read(start, buffer, early::arrived);
            } else { // the reader's part first, then what comes before it
                source.read(start + split, buffer.slice(split, length - split), p -> early.arrivedFromSplit(split + p));
                source.read(start, buffer.slice(0, split), early::arrived);
            }
            buffer.position(0).limit(length);
            try {
                write(buffer, start);
            } catch (IOException full) {
                if (!LinuxFiles.isNoSpace(full) || budget.reclaim(length) == 0) {
                    throw noSpace(full);
                }
                write(buffer.rewind(), start); // room made by evicting other chunks
            }
        } finally {
            early.end(); // no reader copies from the buffer once it is back in the pool
            budget.buffers().give(buffer);
        }
        states.markPresent(chunk); // readers may use it now; the saved index lists it only after the next flush
        states.used(chunk, budget.tick());
        fetchedBytes.addAndGet(length);
        fetches.incrementAndGet();
        saved.scheduleFlush(states, data);
    }

    /**
     * Where a fetch that a reader needs bytes of at {@code wanted} asks for the chunk first: there, aligned down to
     * {@link #SPLIT_ALIGN}, when the source reports bytes as they arrive and the part before is worth a request of its
     * own; else 0, the chunk in one request from its start (read-ahead and sequential readers, digest-checked and
     * compressed sources, reads near the chunk's start).
     */
    private int splitAt(int wanted, int length) {
        if (wanted < MIN_SPLIT || wanted >= length || !source.reportsArrivals()) {
            return 0;
        }
        return wanted / SPLIT_ALIGN * SPLIT_ALIGN;
    }

    private void write(ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            position += data.write(buffer, position);
        }
    }

    private int length(int chunk) {
        return (int) Math.min(chunkSize, size - (long) chunk * chunkSize);
    }

    /** A write into the cache that failed: named as the state dir's disk when it is full, never as the store. */
    private IOException noSpace(IOException e) {
        if (!LinuxFiles.isNoSpace(e)) {
            return new CacheWriteException("cannot write to the chunk cache " + dataFile + ": " + e.getMessage(), e);
        }
        return new CacheWriteException("the chunk cache's disk is full (" + dataFile.getParent()
                + ": No space left on device) and no cached chunk could be evicted; the overlays of writable mounts "
                + "hold the rest", e);
    }

    /** The cache's own disk failed, not the store: said as it is, not as a fetch. */
    private static final class CacheWriteException extends IOException {
        CacheWriteException(String message, IOException cause) {
            super(message, cause);
        }
    }
}
