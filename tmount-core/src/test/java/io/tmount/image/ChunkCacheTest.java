package io.tmount.image;

import io.tmount.store.StoreLocation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkCacheTest {

    private static final int CHUNK = 64 * 1024;
    private static final int CHUNKS = 40;
    private static final String KEY = "b1/rootfs.ext4";

    @TempDir
    Path dir;

    private byte[] object;
    private CountingStore store;

    @BeforeEach
    void object() throws IOException {
        object = new byte[CHUNK * CHUNKS - 1000]; // the last chunk is short
        new Random(1).nextBytes(object);
        store = new CountingStore(new StoreLocation.Local(dir.resolve("store")).open());
        store.put(KEY, object);
    }

    private ChunkCache open(CacheBudget budget) throws IOException {
        return ChunkCache.open(store, KEY, store.info(KEY), CHUNK, dir.resolve("cache"), budget);
    }

    private byte[] read(ChunkCache cache, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        cache.read(buffer, offset, null);
        return buffer.array();
    }

    private byte[] expected(long offset, int length) {
        return Arrays.copyOfRange(object, (int) offset, (int) offset + length);
    }

    @Test
    void aReadersFetch_neverWaitsBehindReadAhead_andAReaderOfAQueuedChunkStartsIt() throws Exception {
        store.delayMillis = 500;
        FetchPipeline pipeline = new FetchPipeline(2, 2, 8); // two fetches in flight: read-ahead fills them
        try (ChunkCache cache = ChunkCache.open(new StoredObject(store, KEY, store.info(KEY)), CHUNK,
                dir.resolve("cache"), new CacheBudget(1 << 30), pipeline)) {
            for (int c = 0; c < 6; c++) {
                cache.prefetch(c);
            }
            assertThat(pipeline.running()).isEqualTo(2);
            assertThat(pipeline.queued()).isEqualTo(4);
            // each read waits for one fetch (500 ms), not for the rounds of read-ahead before it (1 s more at least)
            long start = System.nanoTime();
            assertThat(read(cache, CHUNK * 20L, 100)).isEqualTo(expected(CHUNK * 20L, 100));
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(450L, 950L);
            start = System.nanoTime();
            assertThat(read(cache, CHUNK * 5L, 100)).isEqualTo(expected(CHUNK * 5L, 100)); // queued: promoted
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(450L, 950L);
        }
    }

    @Test
    void firstTouch_fetchesOnlyTheChunksRead_thenHits() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            assertThat(read(cache, CHUNK * 3L + 100, 500)).isEqualTo(expected(CHUNK * 3L + 100, 500));
            assertThat(store.bytes.get()).isEqualTo(CHUNK);
            assertThat(read(cache, CHUNK * 3L, CHUNK)).isEqualTo(expected(CHUNK * 3L, CHUNK));
            assertThat(store.bytes.get()).isEqualTo(CHUNK);
            // spanning three chunks, one of them already present
            assertThat(read(cache, CHUNK * 2L + 10, 2 * CHUNK)).isEqualTo(expected(CHUNK * 2L + 10, 2 * CHUNK));
            assertThat(store.bytes.get()).isEqualTo(3 * CHUNK);
            CacheStats stats = cache.stats();
            assertThat(stats.presentBytes()).isEqualTo(3 * CHUNK);
            assertThat(stats.fetchedBytes()).isEqualTo(3 * CHUNK);
            assertThat(stats.fetches()).isEqualTo(3);
            assertThat(stats.hits()).isEqualTo(1);
            // the short last chunk
            int lastStart = CHUNK * (CHUNKS - 1);
            assertThat(read(cache, lastStart, object.length - lastStart)).isEqualTo(expected(lastStart, object.length - lastStart));
        }
    }

    @Test
    void untouchedChunks_costNoDisk() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            read(cache, 0, 10);
        }
        long allocated = Long.parseLong(io.tmount.testing.Run.ok("stat", "-c", "%b", dir.resolve("cache/data").toString())
                .stdout().strip()) * 512;
        assertThat(Files.size(dir.resolve("cache/data"))).isEqualTo(object.length);
        assertThat(allocated).isLessThanOrEqualTo(CHUNK + 8192);
    }

    @Test
    void manyReadersOfOneChunk_shareOneFetch() throws Exception {
        store.delayMillis = 200;
        try (ChunkCache cache = open(new CacheBudget(1 << 30));
             ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor()) {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<byte[]>> results = new ArrayList<>();
            for (int i = 0; i < 32; i++) {
                int at = 5 * CHUNK + i * 100;
                results.add(readers.submit(() -> {
                    go.await();
                    return read(cache, at, 100);
                }));
            }
            go.countDown();
            for (int i = 0; i < results.size(); i++) {
                assertThat(results.get(i).get()).isEqualTo(expected(5 * CHUNK + i * 100, 100));
            }
        }
        assertThat(store.reads.get()).isEqualTo(1);
    }

    @Test
    void evictionUnderLoad_staysWithinBudget_andNeverServesWrongBytes() throws Exception {
        CacheBudget budget = new CacheBudget(8L * CHUNK);
        try (ChunkCache cache = open(budget); ExecutorService readers = Executors.newFixedThreadPool(8)) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                long seed = t;
                work.add(readers.submit(() -> {
                    Random random = new Random(seed);
                    for (int i = 0; i < 300; i++) {
                        long offset = random.nextInt(object.length - 3 * CHUNK);
                        int length = 1 + random.nextInt(2 * CHUNK);
                        assertThat(read(cache, offset, length)).isEqualTo(expected(offset, length));
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get(2, TimeUnit.MINUTES);
            }
            // at most the budget, plus what readers pinned at the last eviction
            assertThat(budget.usedBytes()).isLessThanOrEqualTo(8L * CHUNK + 8 * 3L * CHUNK);
            assertThat(cache.stats().presentBytes()).isEqualTo(budget.usedBytes());
        }
    }

    @Test
    void sequentialPassesLargerThanTheBudget_withReadAhead_neverServeEvictedBytes() throws Exception {
        // LRU evicts exactly the chunks read-ahead is about to fetch again: fetches and evictions of one chunk race
        CacheBudget budget = new CacheBudget(6L * CHUNK);
        try (ChunkCache cache = open(budget); ExecutorService readers = Executors.newFixedThreadPool(4)) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int step = 4096 << t;
                work.add(readers.submit(() -> {
                    ReadAhead readAhead = new ReadAhead();
                    for (int pass = 0; pass < 15; pass++) {
                        for (long offset = 0; offset + step <= object.length; offset += step) {
                            ByteBuffer buffer = ByteBuffer.allocate(step);
                            cache.read(buffer, offset, readAhead);
                            if (!Arrays.equals(buffer.array(), expected(offset, step))) {
                                throw new AssertionError("wrong bytes at " + offset + " in pass " + pass);
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get(2, TimeUnit.MINUTES);
            }
        }
    }

    @Test
    void aChunkBeingRead_isNeverEvicted() throws Exception {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            read(cache, 0, 5 * CHUNK); // chunks 0..4 present
            store.delayMillis = 500;   // the read below waits for chunk 5 while it holds 0..4
            Thread reader = Thread.ofVirtual().start(() -> {
                try {
                    assertThat(read(cache, 0, 6 * CHUNK)).isEqualTo(expected(0, 6 * CHUNK));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Thread.sleep(150);
            assertThat(cache.tryEvict(0)).isFalse();
            reader.join();
            assertThat(cache.tryEvict(0)).isTrue();
            assertThat(cache.stats().presentBytes()).isEqualTo(5L * CHUNK);
        }
    }

    @Test
    void theBudget_evictsTheLeastRecentlyUsedChunksFirst() throws IOException {
        CacheBudget budget = new CacheBudget(4L * CHUNK);
        try (ChunkCache cache = open(budget)) {
            for (int c = 0; c < 4; c++) {
                read(cache, (long) c * CHUNK, 10);
            }
            read(cache, 0, 10);             // chunk 0 is now the most recently used
            read(cache, 4L * CHUNK, 10);    // over budget: evicts down to 90%, oldest first (1, then 2)
            store.bytes.set(0);
            read(cache, 0, 10);
            read(cache, 4L * CHUNK, 10);
            read(cache, 3L * CHUNK, 10);
            assertThat(store.bytes.get()).isZero();
            read(cache, CHUNK, 10);
            assertThat(store.bytes.get()).isEqualTo(CHUNK);
        }
    }

    @Test
    void oneEviction_rewritesTheSavedIndexOnce_howeverManyChunksItEvicts() throws IOException {
        CacheBudget budget = new CacheBudget(20L * CHUNK);
        try (ChunkCache cache = open(budget)) {
            read(cache, 0, 20 * CHUNK);
            cache.flush();
            long saves = cache.indexSaves();
            read(cache, 20L * CHUNK, 10); // over budget: evicts down to 90%, three chunks
            assertThat(cache.stats().presentBytes()).isEqualTo(18L * CHUNK);
            assertThat(cache.indexSaves() - saves).isEqualTo(1);
        }
    }

    @Test
    void anEvictionTheIndexCannotRecord_keepsItsChunks_andTheBudgetCountsWhatIsPresent() throws Exception {
        CacheBudget budget = new CacheBudget(4L * CHUNK);
        Path index = dir.resolve("cache/index");
        try (ChunkCache cache = open(budget)) {
            for (int c = 0; c < 4; c++) {
                read(cache, (long) c * CHUNK, 10);
            }
            cache.flush();
            chattr("+i", index); // the index can be neither replaced nor deleted: its chunks must stay
            try {
                read(cache, 4L * CHUNK, 10); // over budget
                assertThat(budget.usedBytes()).isEqualTo(cache.stats().presentBytes());
                assertThat(cache.stats().presentBytes()).isEqualTo(5L * CHUNK);
                store.bytes.set(0);
                assertThat(read(cache, 0, 4 * CHUNK)).isEqualTo(expected(0, 4 * CHUNK));
                assertThat(store.bytes.get()).isZero();
            } finally {
                chattr("-i", index);
            }
            read(cache, 5L * CHUNK, 10); // the index is writable again: eviction goes on
            assertThat(budget.usedBytes()).isEqualTo(cache.stats().presentBytes()).isLessThanOrEqualTo(4L * CHUNK);
        }
    }

    @Test
    void chunksAnEvictionCannotTake_areMadeUpFromTheNextCandidates_soTheBudgetHolds() throws Exception {
        CacheBudget budget = new CacheBudget(8L * CHUNK);
        store.put("b2/rootfs.ext4", object);
        Path stuckIndex = dir.resolve("cache/index");
        try (ChunkCache stuck = open(budget);
             ChunkCache other = ChunkCache.open(store, "b2/rootfs.ext4", store.info("b2/rootfs.ext4"), CHUNK,
                     dir.resolve("cache2"), budget)) {
            for (int c = 0; c < 4; c++) {
                read(stuck, (long) c * CHUNK, 10); // the least recently used, but their index cannot forget them
            }
            stuck.flush();
            chattr("+i", stuckIndex);
            try {
                for (int c = 0; c < 5; c++) {
                    read(other, (long) c * CHUNK, 10); // the fifth is over budget
                }
                assertThat(budget.usedBytes()).isLessThanOrEqualTo(8L * CHUNK);
                assertThat(stuck.stats().presentBytes()).isEqualTo(4L * CHUNK);
                assertThat(budget.usedBytes()).isEqualTo(stuck.stats().presentBytes() + other.stats().presentBytes());
            } finally {
                chattr("-i", stuckIndex);
            }
        }
    }

    private static void chattr(String flag, Path file) throws Exception {
        Process chattr = new ProcessBuilder("chattr", flag, file.toString()).inheritIO().start();
        assertThat(chattr.waitFor()).as("chattr %s %s", flag, file).isZero();
    }

    @Test
    void presentChunksSurviveAReopen_andAreNotFetchedAgain() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            read(cache, 0, 3 * CHUNK);
        }
        long fetched = store.bytes.get();
        CacheBudget budget = new CacheBudget(1 << 30);
        try (ChunkCache cache = open(budget)) {
            assertThat(budget.usedBytes()).isEqualTo(3 * CHUNK);
            assertThat(read(cache, 100, 2 * CHUNK)).isEqualTo(expected(100, 2 * CHUNK));
        }
        assertThat(store.bytes.get()).isEqualTo(fetched);
    }

    @Test
    void aTornChunk_isNeverServed_afterACrashMidWrite() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            read(cache, 0, 10); // chunk 0 present and indexed
        }
        // A crash while chunk 1 was being written: part of its bytes are in the data file, the index never said so.
        try (var data = java.nio.channels.FileChannel.open(dir.resolve("cache/data"), java.nio.file.StandardOpenOption.WRITE)) {
            data.write(ByteBuffer.wrap(new byte[1000]), CHUNK);
        }
        long before = store.bytes.get();
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            assertThat(read(cache, CHUNK, CHUNK)).isEqualTo(expected(CHUNK, CHUNK));
        }
        assertThat(store.bytes.get() - before).isEqualTo(CHUNK); // fetched again, not read torn
    }

    @Test
    void anObjectReplacedUnderTheSameKeyAndSize_isFetchedAfresh() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            read(cache, 0, 2 * CHUNK);
        }
        // a build recreated under the same id (or another store with the same build ids): same key, same size
        new Random(2).nextBytes(object);
        store.put(KEY, object);
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            assertThat(read(cache, 0, 2 * CHUNK)).isEqualTo(expected(0, 2 * CHUNK));
            assertThat(cache.stats().fetches()).isEqualTo(2);
        }
    }

    @Test
    void aLostDataFile_isNeverTrustedLater_evenWhenNothingIsFetchedMeanwhile() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            read(cache, 0, 3 * CHUNK);
        }
        Files.delete(dir.resolve("cache/data"));
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            assertThat(cache.stats().presentBytes()).isZero(); // closed without fetching anything
        }
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            assertThat(cache.stats().presentBytes()).isZero();
            assertThat(read(cache, 0, 3 * CHUNK)).isEqualTo(expected(0, 3 * CHUNK));
        }
    }

    @Test
    void theSavedIndex_listsAChunkOnlyAfterAFlushHasSyncedIt() throws IOException {
        ChunkIndex saved = new ChunkIndex(dir.resolve("cache/index"), object.length, CHUNK,
                store.url() + " " + KEY + " " + store.info(KEY).version());
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            read(cache, 0, 10);
            read(cache, 5L * CHUNK, 10);
            // a crash now would find nothing listed: the chunks are served from memory, not yet known durable
            assertThat(saved.load()).isNull();
            cache.flush();
            assertThat(saved.load().stream().boxed().toList()).containsExactly(0, 5);
            assertThat(cache.tryEvict(5)).isTrue();
            assertThat(saved.load().stream().boxed().toList()).containsExactly(0); // forgotten before its bytes go
        }
    }

    @Test
    void sequentialStreaks_widenTheReadAheadWindow() {
        ReadAhead readAhead = new ReadAhead();
        assertThat(readAhead.next(0, 0)).isZero();
        assertThat(readAhead.next(1, 1)).isZero();     // one step could be chance (mounting reads scattered metadata)
        assertThat(readAhead.next(2, 2)).isEqualTo(1); // a streak
        assertThat(readAhead.next(2, 2)).isEqualTo(1); // more reads in the same chunk keep the window
        assertThat(readAhead.next(3, 3)).isEqualTo(2);
        assertThat(readAhead.next(4, 4)).isEqualTo(4);
        assertThat(readAhead.next(5, 6)).isEqualTo(8);
        assertThat(readAhead.next(6, 6)).isEqualTo(ReadAhead.MAX_WINDOW);
        assertThat(readAhead.next(4, 4)).isEqualTo(ReadAhead.MAX_WINDOW); // a little out of order: still the stream
        assertThat(readAhead.next(40, 40)).isZero(); // a jump ends the streak
    }

    @Test
    void aCorruptIndex_meansAnEmptyCache() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            read(cache, 0, 2 * CHUNK);
        }
        byte[] index = Files.readAllBytes(dir.resolve("cache/index"));
        index[index.length - 1] ^= 0x7f;
        Files.write(dir.resolve("cache/index"), index);
        CacheBudget budget = new CacheBudget(1 << 30);
        try (ChunkCache cache = open(budget)) {
            assertThat(budget.usedBytes()).isZero();
            assertThat(read(cache, 0, 2 * CHUNK)).isEqualTo(expected(0, 2 * CHUNK));
        }
    }

    @Test
    void aFailedFetch_failsTheRead_andALaterReadTriesAgain() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            store.failNext.set(1);
            assertThatThrownBy(() -> read(cache, 7L * CHUNK, 10))
                    .isInstanceOf(IOException.class).hasMessageContaining("injected store failure")
                    .hasMessageContaining(KEY);
            assertThat(read(cache, 7L * CHUNK, 10)).isEqualTo(expected(7L * CHUNK, 10));
        }
    }

    @Test
    void sequentialReads_fetchTheNextChunkAhead() throws Exception {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            ReadAhead readAhead = new ReadAhead();
            cache.read(ByteBuffer.allocate(CHUNK), 0, readAhead);
            cache.read(ByteBuffer.allocate(CHUNK), CHUNK, readAhead);
            cache.read(ByteBuffer.allocate(CHUNK), 2L * CHUNK, readAhead); // a streak: chunk 3 is fetched ahead
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (cache.stats().presentBytes() < 4L * CHUNK && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(cache.stats().presentBytes()).isEqualTo(4L * CHUNK);
            long hitsBefore = cache.stats().hits();
            cache.read(ByteBuffer.allocate(CHUNK), 3L * CHUNK, readAhead);
            assertThat(cache.stats().hits()).isEqualTo(hitsBefore + 1);
        }
    }

    @Test
    void randomReads_doNotReadAhead() throws IOException {
        try (ChunkCache cache = open(new CacheBudget(1 << 30))) {
            ReadAhead readAhead = new ReadAhead();
            cache.read(ByteBuffer.allocate(10), 0, readAhead);
            cache.read(ByteBuffer.allocate(10), 20L * CHUNK, readAhead);
            cache.read(ByteBuffer.allocate(10), 10L * CHUNK, readAhead);
            assertThat(cache.stats().fetches()).isEqualTo(3);
        }
    }
}
