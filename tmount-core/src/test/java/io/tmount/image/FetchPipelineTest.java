package io.tmount.image;

import io.tmount.image.FetchPipeline.Priority;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class FetchPipelineTest {

    private final CountDownLatch release = new CountDownLatch(1);
    private final List<String> started = new CopyOnWriteArrayList<>();

    @AfterEach
    void letGo() {
        release.countDown();
    }

    /** Work that records its start and holds its place until the test lets go (or one step is released). */
    private Runnable held(String name, CountDownLatch until) {
        return () -> {
            started.add(name);
            try {
                until.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waited 10 s").isLessThan(deadline);
            Thread.sleep(1);
        }
    }

    @Test
    void readAheadWaitsForRoom_butAReadersFetchStartsAtOnce_andAPromotedOneToo() throws Exception {
        FetchPipeline pipeline = new FetchPipeline(2, 2, 8);
        Object build = new Object();
        for (int i = 0; i < 4; i++) {
            pipeline.submit(build, Priority.READ_AHEAD, held("ahead-" + i, release));
        }
        await(() -> started.size() == 2);
        assertThat(pipeline.running()).isEqualTo(2);
        assertThat(pipeline.queued()).isEqualTo(2);

        pipeline.submit(build, Priority.DEMAND, held("reader", release));
        await(() -> started.contains("reader"));
        assertThat(pipeline.running()).isEqualTo(3); // counted: nothing queued starts until it is done

        FetchPipeline.Ticket queued = pipeline.submit(build, Priority.BACKGROUND, held("background", release));
        pipeline.promote(queued); // a reader came to wait for it
        await(() -> started.contains("background"));
        assertThat(started).doesNotContain("ahead-2", "ahead-3");
        pipeline.promote(queued); // already running: nothing happens
        assertThat(pipeline.running()).isEqualTo(4);

        release.countDown();
        await(() -> pipeline.running() == 0);
        assertThat(started).contains("ahead-2", "ahead-3");
        assertThat(pipeline.queued()).isZero();
    }

    @Test
    void oneBuildGetsAtMostItsShare_andBuildsTakeTurns() throws Exception {
        FetchPipeline pipeline = new FetchPipeline(3, 1, 8);
        Object a = "a";
        Object b = "b";
        CountDownLatch step = new CountDownLatch(1);
        for (int i = 0; i < 3; i++) {
            pipeline.submit(a, Priority.READ_AHEAD, held("a" + i, step));
            pipeline.submit(b, Priority.READ_AHEAD, held("b" + i, release));
        }
        await(() -> started.size() == 2);
        Thread.sleep(50);
        assertThat(started).containsExactlyInAnyOrder("a0", "b0"); // one each, though 3 could run
        assertThat(pipeline.running()).isEqualTo(2);
        step.countDown(); // a's fetches end at once from now on: a goes on, b still holds its one place
        await(() -> started.size() == 4);
        assertThat(started).containsExactlyInAnyOrder("a0", "b0", "a1", "a2");
    }

    @Test
    void aQueuedBackgroundFetch_raisedToReadAhead_goesFirst() throws Exception {
        FetchPipeline pipeline = new FetchPipeline(1, 1, 8);
        Object build = new Object();
        CountDownLatch first = new CountDownLatch(1);
        pipeline.submit(build, Priority.READ_AHEAD, held("running", first));
        await(() -> started.size() == 1);
        pipeline.submit(build, Priority.BACKGROUND, held("background-0", release));
        FetchPipeline.Ticket wanted = pipeline.submit(build, Priority.BACKGROUND, held("background-1", release));
        pipeline.raise(wanted, Priority.READ_AHEAD); // a reader's read-ahead reached the chunk a trace queued
        pipeline.raise(wanted, Priority.BACKGROUND); // never lowered
        first.countDown();
        await(() -> started.size() == 2);
        assertThat(started).containsExactly("running", "background-1");
    }

    @Test
    void readAheadGoesBeforeBackgroundPrefetch() throws Exception {
        FetchPipeline pipeline = new FetchPipeline(1, 1, 8);
        Object build = new Object();
        CountDownLatch first = new CountDownLatch(1);
        pipeline.submit(build, Priority.BACKGROUND, held("background-0", first));
        await(() -> started.size() == 1);
        pipeline.submit(build, Priority.BACKGROUND, held("background-1", release));
        pipeline.submit(build, Priority.READ_AHEAD, held("ahead", release));
        first.countDown();
        await(() -> started.size() == 2);
        assertThat(started).containsExactly("background-0", "ahead");
    }
}
