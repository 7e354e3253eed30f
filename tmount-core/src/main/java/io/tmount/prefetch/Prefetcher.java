package io.tmount.prefetch;

import io.tmount.header.BuildMapping;
import io.tmount.image.LayeredImage;
import io.tmount.progress.Progress;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Fetches a build's chunks ahead of its readers, always at background priority (behind every reader and read-ahead):
 * the chunks of a read trace in their recorded order, or everything the build maps, at a rate limit.
 */
public final class Prefetcher {

    /** Fetches in the pipeline's queue at once while warming everything (the pipeline's limits decide what runs). */
    private static final int OUTSTANDING = 32;

    private Prefetcher() {
    }

    /** What a warm-up did: the trace's chunks, the bytes it had fetched (the build's mapped bytes), and how long. */
    public record Result(int traceChunks, long bytes, Duration took) {
    }

    /** Queues the trace's chunks, in order; the future completes when all are local. */
    public static CompletableFuture<Void> replay(LayeredImage image, Trace trace) {
        long unit = trace.unit();
        long chunks = (image.size() + unit - 1) / unit; // a damaged trace's huge index must not overflow
        CompletableFuture<?>[] fetches = java.util.Arrays.stream(trace.chunks())
                .filter(chunk -> chunk < chunks)
                .mapToObj(chunk -> image.prefetch(chunk * unit, unit))
                .toArray(CompletableFuture[]::new);
        return CompletableFuture.allOf(fetches);
    }

    /**
     * Warms a host for a build: the trace's chunks first (if any), then, with {@code all}, every range the build maps
     * to data, in device order, at most {@code bytesPerSecond} (0: no limit). Returns when it is all local; a failed
     * fetch fails it. {@code progress} hears bytes done of the total.
     */
    public static Result warm(LayeredImage image, Trace trace, boolean all, int step, long bytesPerSecond,
                              Progress progress) throws IOException {
        long start = System.nanoTime();
        long traceBytes = trace == null ? 0 : (long) trace.size() * trace.unit();
        long total = traceBytes + (all ? mappedBytes(image) : 0);
        if (trace != null) {
            await(replay(image, trace));
            progress.update(traceBytes, total);
        }
        if (all) {
            long allStart = System.nanoTime(); // the rate is for this part: the trace's time does not count
            long allDone = 0;
            ArrayDeque<CompletableFuture<Void>> outstanding = new ArrayDeque<>();
            for (BuildMapping m : image.mappings()) {
                if (m.zeros()) {
                    continue;
                }
                for (long at = m.offset(); at < m.end(); at += step) {
                    long n = Math.min(step, m.end() - at);
                    pace(allStart, allDone, bytesPerSecond);
                    outstanding.add(image.prefetch(at, n));
                    allDone += n;
                    if (outstanding.size() >= OUTSTANDING) {
                        await(outstanding.poll());
                    }
                    progress.update(traceBytes + allDone, total);
                }
            }
            while (!outstanding.isEmpty()) {
                await(outstanding.poll());
            }
        }
        return new Result(trace == null ? 0 : trace.size(), total, Duration.ofNanos(System.nanoTime() - start));
    }

    private static long mappedBytes(LayeredImage image) {
        return image.mappings().stream().filter(m -> !m.zeros()).mapToLong(BuildMapping::length).sum();
    }

    /** Sleeps until {@code bytes} are due at {@code bytesPerSecond} since {@code start}. */
    private static void pace(long start, long bytes, long bytesPerSecond) throws InterruptedIOException {
        if (bytesPerSecond <= 0) {
            return;
        }
        long due = start + (long) (bytes * 1e9 / bytesPerSecond);
        long wait = due - System.nanoTime();
        if (wait > 0) {
            try {
                Thread.sleep(Duration.ofNanos(wait));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("prefetch interrupted");
            }
        }
    }

    private static void await(CompletableFuture<Void> fetch) throws IOException {
        try {
            fetch.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("prefetch interrupted");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause().getMessage(), e.getCause());
        }
    }
}
