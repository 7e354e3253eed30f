package io.tmount.prefetch;

import io.tmount.header.BuildMapping;
import io.tmount.header.Header;
import io.tmount.header.HeaderCodec;
import io.tmount.image.BuildImages;
import io.tmount.image.CacheBudget;
import io.tmount.image.CacheStats;
import io.tmount.image.FetchPolicy;
import io.tmount.image.LayeredImage;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.testing.ForwardingStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** Read traces: recorded from a mount's first reads, merged over mounts, replayed for the build and its children. */
class TracesTest {

    private static final int B = 4096;
    private static final int CHUNK = 16 * B;
    private static final int SIZE = 64 * CHUNK;

    @TempDir
    Path dir;

    private final AtomicLong storeBytes = new AtomicLong();
    private TemplateStore store;
    private BuildImages images;
    private Traces traces;
    private final BuildId base = BuildId.of("6a1f0d2e-3b4c-4d5e-8f60-718293a4b5c6");
    private final BuildId child = BuildId.of("7b2e1f3a-4c5d-4e6f-9071-8293a4b5c6d7");

    @BeforeEach
    void builds() throws IOException {
        store = new TemplateStore(new ForwardingStore(new StoreLocation.Local(dir.resolve("store")).open()) {
            @Override
            public int read(String key, long offset, ByteBuffer dst) throws IOException {
                int n = super.read(key, offset, dst);
                storeBytes.addAndGet(Math.max(0, n));
                return n;
            }
        });
        byte[] bytes = new byte[SIZE];
        new Random(3).nextBytes(bytes);
        store.publish(BuildMetadata.forNewBuild(base, TemplateId.of("t"), null, SIZE, Instant.now()),
                Files.write(dir.resolve("base.img"), bytes));
        // the child: chunk 5 its own, the rest its parent's
        store.publishLayer(BuildMetadata.forNewBuild(child, TemplateId.of("t"), base, SIZE, Instant.now())
                        .withBuildAliases(Map.of()), Files.write(dir.resolve("child.img"), new byte[CHUNK]),
                HeaderCodec.write(new Header(3, B, SIZE, 1, child.uuid(), base.uuid(), List.of(
                        new BuildMapping(0, 5L * CHUNK, base.uuid(), 0),
                        new BuildMapping(5L * CHUNK, CHUNK, child.uuid(), 0),
                        new BuildMapping(6L * CHUNK, SIZE - 6L * CHUNK, base.uuid(), 6L * CHUNK)))));
        images = images("cache");
        traces = new Traces(dir.resolve("traces"), Duration.ofSeconds(30), CHUNK);
    }

    /** Copying chunks into a cache (as from S3), so what is fetched can be counted. */
    private BuildImages images(String cache) {
        return new BuildImages(store, dir.resolve(cache), CHUNK, new CacheBudget(1L << 30),
                FetchPolicy.DEFAULT.withCopyLocalStore(true));
    }

    @AfterEach
    void close() throws IOException {
        images.close();
    }

    private static void read(LayeredImage image, long offset, int length) throws IOException {
        image.read(ByteBuffer.allocate(length), offset);
    }

    private long present(BuildImages of) {
        return of.stats().stream().mapToLong(CacheStats::presentBytes).sum();
    }

    @Test
    void aTrace_isWhatAMountReadFirst_inOrder_eachChunkOnce_andSurvivesItsText() throws Exception {
        LayeredImage image = images.open(images.layout(base));
        try (AutoCloseable recording = traces.follow(base, store, image)) {
            read(image, 40L * CHUNK + 10, 100);
            read(image, 3L * CHUNK, 2 * CHUNK); // chunks 3 and 4
            read(image, 40L * CHUNK, 10); // again: once
        }
        Trace trace = traces.read(base).orElseThrow();
        assertThat(trace.chunks()).containsExactly(40, 3, 4);
        assertThat(trace.unit()).isEqualTo(CHUNK);
        assertThat(Trace.parse(trace.format())).isEqualTo(trace);
        assertThat(Files.readString(traces.file(base))).startsWith("tmount-trace 1 unit=" + CHUNK + "\n40\n3\n4\n");

        LayeredImage again = images.open(images.layout(base));
        try (AutoCloseable recording = traces.follow(base, store, again)) {
            read(again, 7L * CHUNK, 1);
            read(again, 3L * CHUNK, 1);
        }
        assertThat(traces.read(base).orElseThrow().chunks()).containsExactly(40, 3, 4, 7); // merged: new ones after
    }

    @Test
    void aDamagedTrace_neverFailsAMount() throws Exception {
        Files.createDirectories(dir.resolve("traces"));
        Files.writeString(traces.file(base), "tmount-trace 1 unit=" + CHUNK + "\n" + (Long.MAX_VALUE / 2) + "\n3\n");
        LayeredImage image = images.open(images.layout(base));
        try (AutoCloseable following = traces.follow(base, store, image)) {
            await(() -> present(images) == CHUNK); // the chunk that exists, and nothing past the device
        }
        Files.writeString(traces.file(child), "not a trace");
        assertThat(traces.read(child)).isEmpty();
    }

    @Test
    void readsAfterTheWindow_orPastTheBound_areNotRecorded() {
        TraceRecorder recorder = new TraceRecorder(CHUNK, System.nanoTime() + TimeUnit.SECONDS.toNanos(30), 3);
        recorder.read(0, 5L * CHUNK);
        assertThat(recorder.trace().chunks()).containsExactly(0, 1, 2);
        TraceRecorder late = new TraceRecorder(CHUNK, System.nanoTime() - 1, 100);
        late.read(0, CHUNK);
        assertThat(late.trace().size()).isZero();
        assertThat(new Trace(CHUNK, new long[] {1, 2}).merge(new Trace(CHUNK, new long[] {2, 3, 4}), 3).chunks())
                .containsExactly(1, 2, 3);
    }

    @Test
    void theNextColdMount_prefetchesTheTrace_behindItsReaders_andAChildUsesItsParents() throws Exception {
        traces.merge(base, new Trace(CHUNK, new long[] {9, 2, 30, 5}));
        try (BuildImages cold = images("cold")) {
            LayeredImage image = cold.open(cold.layout(base));
            try (AutoCloseable following = traces.follow(base, store, image)) {
                await(() -> present(cold) == 4L * CHUNK); // nobody read anything
            }
        }
        try (BuildImages cold = images("cold-child")) {
            LayeredImage image = cold.open(cold.layout(child));
            assertThat(traces.find(child, store)).hasValueSatisfying(found ->
                    assertThat(found.recordedFor()).isEqualTo(base));
            try (AutoCloseable following = traces.follow(child, store, image)) {
                // chunk 5 of the device is the child's own: its object has one chunk
                await(() -> present(cold) == 4L * CHUNK);
                assertThat(cold.stats()).anySatisfy(s -> {
                    assertThat(s.object()).startsWith(child.value());
                    assertThat(s.presentBytes()).isEqualTo(CHUNK);
                });
            }
            assertThat(traces.read(child)).isEmpty(); // it read nothing: no trace of its own
        }
    }

    @Test
    void warm_fetchesTheTraceThenEverything_atTheRateAsked() throws Exception {
        traces.merge(base, new Trace(CHUNK, new long[] {9, 2}));
        Warmer warmer = new Warmer(images, traces);
        Warmer.Warmed traced = warmer.warm(base, false, 0, (done, total) -> { });
        assertThat(traced.traceOf()).isEqualTo(base);
        assertThat(traced.result().bytes()).isEqualTo(2L * CHUNK);
        assertThat(present(images)).isEqualTo(2L * CHUNK);

        long[] last = new long[2];
        long start = System.nanoTime();
        Warmer.Warmed everything = warmer.warm(child, true, 16L * CHUNK, (done, total) -> {
            last[0] = done;
            last[1] = total;
        });
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(last[0]).isEqualTo(last[1]).isEqualTo(2L * CHUNK + SIZE);
        assertThat(present(images)).isEqualTo(SIZE); // 63 chunks of the base, 1 of the child
        assertThat(ms).as("64 chunks at 16 a second").isGreaterThanOrEqualTo(3500);
    }

    @Test
    void warmingInTheBackground_warmsEachBuild_andStopsWhenInterrupted() throws Exception {
        Warmer warmer = new Warmer(images, traces);
        Thread warming = warmer.warmInBackground(List.of(BuildId.of("missing-build"), child), 0);
        warming.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(warming.isAlive()).isFalse();
        assertThat(present(images)).isEqualTo(SIZE); // the missing one was said in the log, and skipped

        try (BuildImages cold = images("cold")) {
            Thread slow = new Warmer(cold, traces).warmInBackground(List.of(base), CHUNK); // 64 s at this rate
            Thread.sleep(300);
            slow.interrupt();
            slow.join(TimeUnit.SECONDS.toMillis(5));
            assertThat(slow.isAlive()).isFalse();
            assertThat(present(cold)).isLessThan(SIZE / 4);
        }
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waited 10 s").isLessThan(deadline);
            Thread.sleep(5);
        }
    }
}
