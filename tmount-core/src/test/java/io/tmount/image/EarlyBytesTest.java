package io.tmount.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Readers of part of a chunk being fetched get their bytes as soon as those have arrived. */
class EarlyBytesTest {

    private static final int CHUNK = 1 << 20;
    private static final int HALF = CHUNK / 2;

    @TempDir
    Path dir;

    private final byte[] object = new byte[4 * CHUNK];

    {
        new Random(5).nextBytes(object);
    }

    /** A source that delivers each chunk's first half, says so, then holds the rest until let go (or fails). */
    private final class HalfThenWait implements ChunkSource {
        final CountDownLatch firstHalfSent = new CountDownLatch(1);
        final CountDownLatch rest = new CountDownLatch(1);
        final AtomicInteger reads = new AtomicInteger();
        volatile boolean failRest;
        volatile boolean reportsArrivals = true;

        @Override
        public String name() {
            return "half-then-wait";
        }

        @Override
        public long size() {
            return object.length;
        }

        @Override
        public String identity() {
            return "half-then-wait 1";
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            read(offset, dst, position -> {
            });
        }

        @Override
        public void read(long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
            if (!reportsArrivals) {
                arrived = position -> {
                };
            }
            reads.incrementAndGet();
            int length = dst.remaining();
            dst.put(object, (int) offset, Math.min(HALF, length));
            arrived.accept(dst.position());
            firstHalfSent.countDown();
            try {
                if (!rest.await(30, TimeUnit.SECONDS)) {
                    throw new IOException("the test never let the rest go");
                }
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            if (failRest) {
                throw new IOException("the store broke off");
            }
            dst.put(object, (int) offset + HALF, length - HALF);
            arrived.accept(dst.position());
        }

        @Override
        public boolean extents(long offset, long length, Extents out) {
            return out.add(length, 0);
        }
    }

    private byte[] expected(long offset, int length) {
        return Arrays.copyOfRange(object, (int) offset, (int) offset + length);
    }

    @Test
    void aReadOfBytesThatArrivedReturnsBeforeTheChunkIsWhole() throws Exception {
        HalfThenWait source = new HalfThenWait();
        ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
        try (ChunkCache cache = ChunkCache.open(source, CHUNK, dir.resolve("cache"), new CacheBudget(1L << 30))) {
            long early = CHUNK + 4096; // chunk 1, in its first half
            long late = CHUNK + HALF + 8192; // chunk 1, in its second half
            Future<byte[]> lateRead = readers.submit(() -> read(cache, late, 4096));
            assertThat(source.firstHalfSent.await(10, TimeUnit.SECONDS)).isTrue();
            byte[] got = readers.submit(() -> read(cache, early, 4096)).get(10, TimeUnit.SECONDS);
            assertThat(got).isEqualTo(expected(early, 4096));
            assertThatThrownBy(() -> lateRead.get(300, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            source.rest.countDown();
            assertThat(lateRead.get(10, TimeUnit.SECONDS)).isEqualTo(expected(late, 4096));
            assertThat(read(cache, CHUNK, CHUNK)).isEqualTo(expected(CHUNK, CHUNK)); // whole, from the cache now
            assertThat(source.reads.get()).isEqualTo(1); // one fetch for all of them
        } finally {
            readers.shutdownNow();
        }
    }

    @Test
    void aSourceThatChecksBeforeSayingServesNothingEarly() throws Exception {
        HalfThenWait source = new HalfThenWait();
        source.reportsArrivals = false; // as a digest-checking source: nothing final before the end
        ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
        try (ChunkCache cache = ChunkCache.open(source, CHUNK, dir.resolve("cache"), new CacheBudget(1L << 30))) {
            Future<byte[]> read = readers.submit(() -> read(cache, 4096, 4096));
            assertThat(source.firstHalfSent.await(10, TimeUnit.SECONDS)).isTrue();
            assertThatThrownBy(() -> read.get(300, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            source.rest.countDown();
            assertThat(read.get(10, TimeUnit.SECONDS)).isEqualTo(expected(4096, 4096));
        } finally {
            readers.shutdownNow();
        }
    }

    @Test
    void aFetchThatBreaksOffFailsTheReadersStillWaitingAndTheNextReadFetchesAgain() throws Exception {
        HalfThenWait source = new HalfThenWait();
        source.failRest = true;
        ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
        try (ChunkCache cache = ChunkCache.open(source, CHUNK, dir.resolve("cache"), new CacheBudget(1L << 30))) {
            long late = 2L * CHUNK + HALF;
            Future<byte[]> lateRead = readers.submit(() -> read(cache, late, 4096));
            assertThat(source.firstHalfSent.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(read(cache, 2L * CHUNK, 4096)).isEqualTo(expected(2L * CHUNK, 4096)); // arrived: final
            source.rest.countDown();
            assertThatThrownBy(() -> lateRead.get(10, TimeUnit.SECONDS)).hasRootCauseMessage("the store broke off");
            source.failRest = false;
            assertThat(read(cache, late, 4096)).isEqualTo(expected(late, 4096));
            assertThat(source.reads.get()).isEqualTo(2);
        } finally {
            readers.shutdownNow();
        }
    }

    @Test
    void aReadOverTwoChunksWaitsForBoth() throws Exception {
        HalfThenWait source = new HalfThenWait();
        ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
        try (ChunkCache cache = ChunkCache.open(source, CHUNK, dir.resolve("cache"), new CacheBudget(1L << 30))) {
            long across = 2L * CHUNK - 2048;
            Future<byte[]> read = readers.submit(() -> read(cache, across, 4096));
            assertThat(source.firstHalfSent.await(10, TimeUnit.SECONDS)).isTrue();
            assertThatThrownBy(() -> read.get(300, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            source.rest.countDown();
            assertThat(read.get(10, TimeUnit.SECONDS)).isEqualTo(expected(across, 4096));
        } finally {
            readers.shutdownNow();
        }
    }

    /** A source reporting arrivals at once, which holds every read that starts at a chunk's start until let go. */
    private final class HeadHeld implements ChunkSource {
        final CountDownLatch head = new CountDownLatch(1);
        final CountDownLatch headAsked = new CountDownLatch(1);
        final java.util.List<String> reads = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public String name() {
            return "head-held";
        }

        @Override
        public long size() {
            return object.length;
        }

        @Override
        public String identity() {
            return "head-held 1";
        }

        @Override
        public boolean reportsArrivals() {
            return true;
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            read(offset, dst, position -> {
            });
        }

        @Override
        public void read(long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
            reads.add(offset + "+" + dst.remaining());
            try {
                if (offset % CHUNK == 0) {
                    headAsked.countDown();
                }
                if (offset % CHUNK == 0 && !head.await(30, TimeUnit.SECONDS)) {
                    throw new IOException("the test never let the head go");
                }
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            dst.put(object, (int) offset, dst.remaining());
            arrived.accept(dst.position());
        }

        @Override
        public boolean extents(long offset, long length, Extents out) {
            return out.add(length, 0);
        }
    }

    @Test
    void aReaderInAChunksLaterPart_isFetchedFirst_thenThePartBefore() throws Exception {
        HeadHeld source = new HeadHeld();
        ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor();
        try (ChunkCache cache = ChunkCache.open(source, CHUNK, dir.resolve("cache"), new CacheBudget(1L << 30))) {
            int split = 3 * CHUNK / 4; // 768 KiB: a multiple of the 64 KiB alignment
            long wanted = CHUNK + split + 100;
            // its bytes come while the part before it is still held
            assertThat(readers.submit(() -> read(cache, wanted, 4096)).get(10, TimeUnit.SECONDS))
                    .isEqualTo(expected(wanted, 4096));
            assertThat(source.headAsked.await(10, TimeUnit.SECONDS)).isTrue(); // the fetch goes on after the reader
            assertThat(source.reads).containsExactly((CHUNK + split) + "+" + (CHUNK - split), CHUNK + "+" + split);
            // a read over the split waits for both parts, one in the part before waits for it
            Future<byte[]> across = readers.submit(() -> read(cache, CHUNK + split - 2048, 4096));
            Future<byte[]> before = readers.submit(() -> read(cache, CHUNK + 4096, 4096));
            assertThatThrownBy(() -> across.get(300, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);
            assertThat(before.isDone()).isFalse();
            source.head.countDown();
            assertThat(across.get(10, TimeUnit.SECONDS)).isEqualTo(expected(CHUNK + split - 2048, 4096));
            assertThat(before.get(10, TimeUnit.SECONDS)).isEqualTo(expected(CHUNK + 4096, 4096));
            assertThat(read(cache, CHUNK, CHUNK)).isEqualTo(expected(CHUNK, CHUNK)); // whole, in the cache
            assertThat(source.reads).hasSize(2); // one fetch, two requests
        } finally {
            readers.shutdownNow();
        }
    }

    @Test
    void aReaderNearAChunksStart_fetchesItInOneRequest() throws Exception {
        HeadHeld source = new HeadHeld();
        source.head.countDown();
        try (ChunkCache cache = ChunkCache.open(source, CHUNK, dir.resolve("cache"), new CacheBudget(1L << 30))) {
            long wanted = 2L * CHUNK + ChunkFetcher.MIN_SPLIT - 4096; // before the smallest split worth a request
            assertThat(read(cache, wanted, 4096)).isEqualTo(expected(wanted, 4096));
            assertThat(source.reads).containsExactly((2L * CHUNK) + "+" + CHUNK);
        }
    }

    private static byte[] read(ChunkCache cache, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        cache.read(buffer, offset, null);
        assertThat(buffer.hasRemaining()).isFalse();
        return buffer.array();
    }
}
