package io.tmount.image;

import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Builds in a store on this host are served straight from the store's files: no fetch, no copy, still checked. */
class StoreFileTest {

    private static final int B = 4096;
    private static final int CHUNK = 16 * B;
    private static final int SIZE = 64 * B;

    @TempDir
    Path dir;

    private CountingStore objects;
    private TemplateStore store;
    private final BuildId build = BuildId.of("5b7e2f0c-1d2e-4f3a-8b4c-5d6e7f8a9b0c");
    private byte[] bytes;

    @BeforeEach
    void store() throws IOException {
        objects = new CountingStore(new StoreLocation.Local(dir.resolve("store")).open());
        store = new TemplateStore(objects);
        bytes = new byte[SIZE];
        new Random(7).nextBytes(bytes);
    }

    private void put(boolean withDigests) throws IOException {
        Path file = Files.write(dir.resolve("rootfs.img"), bytes);
        BuildMetadata metadata = BuildMetadata.forNewBuild(build, TemplateId.of("t"), null, SIZE, Instant.now());
        if (withDigests) {
            metadata = metadata.withDigests(B);
        }
        store.publish(metadata, file);
        if (withDigests) {
            try (FileChannel in = FileChannel.open(file)) {
                objects.put(TemplateStore.digestsKey(build), ChunkDigests.of(in, SIZE, B).serialize());
            }
        }
    }

    private Path object() {
        return dir.resolve("store").resolve(TemplateStore.rootfsKey(build));
    }

    private BuildImages images(FetchPolicy policy) {
        return new BuildImages(store, dir.resolve("cache"), CHUNK, new CacheBudget(1 << 30), policy);
    }

    @Test
    void aLocalBuild_isReadFromTheStoresFile_withNothingFetchedOrCopied() throws Exception {
        put(false);
        try (BuildImages images = images(FetchPolicy.DEFAULT)) {
            LayeredImage image = images.open(images.layout(build));
            assertThat(image.readsLocally(0, SIZE)).as("no digests: nothing to check first").isTrue();
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            image.read(all, 0);
            assertThat(all.array()).isEqualTo(bytes);
            assertThat(SocketCapture.transfer(image, 5 * B + 3, 20 * B, dir))
                    .isEqualTo(Arrays.copyOfRange(bytes, 5 * B + 3, 25 * B + 3));
            image.cache(0, SIZE); // NBD_CMD_CACHE: a hint to the page cache, nothing to fetch
            assertThat(objects.reads.get()).isZero();
            assertThat(images.stats()).singleElement().satisfies(s -> {
                assertThat(s.direct()).isTrue();
                assertThat(s.presentBytes()).isEqualTo(SIZE);
                assertThat(s.fetchedBytes()).isZero();
            });
            assertThat(dir.resolve("cache")).doesNotExist(); // no disk of its own
        }
    }

    @Test
    void copyLocalStore_putsTheChunksInTheCacheInstead() throws Exception {
        put(false);
        try (BuildImages images = images(FetchPolicy.DEFAULT.withCopyLocalStore(true))) {
            LayeredImage image = images.open(images.layout(build));
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            image.read(all, 0);
            assertThat(all.array()).isEqualTo(bytes);
            assertThat(objects.bytes.get()).isEqualTo(SIZE);
            assertThat(images.stats()).singleElement().satisfies(s -> assertThat(s.direct()).isFalse());
        }
    }

    @Test
    void withDigests_eachChunkIsCheckedOnFirstRead_andADamagedOneIsAnIoError() throws Exception {
        put(true);
        try (FileChannel damage = FileChannel.open(object(), StandardOpenOption.WRITE)) {
            damage.write(ByteBuffer.wrap(new byte[] {(byte) (bytes[2 * CHUNK + 100] ^ 1)}), 2L * CHUNK + 100);
        }
        try (BuildImages images = images(FetchPolicy.DEFAULT)) {
            LayeredImage image = images.open(images.layout(build));
            assertThat(image.readsLocally(0, B)).as("not checked yet").isFalse();
            ByteBuffer first = ByteBuffer.allocate(2 * CHUNK);
            image.read(first, 0);
            assertThat(first.array()).isEqualTo(Arrays.copyOf(bytes, 2 * CHUNK));
            assertThat(image.readsLocally(0, 2L * CHUNK)).isTrue();
            assertThat(image.readsLocally(0, 3L * CHUNK)).isFalse();
            assertThatThrownBy(() -> image.read(ByteBuffer.allocate(B), 2L * CHUNK + 8 * B))
                    .isInstanceOf(IOException.class).hasMessageContaining("does not match its SHA-256");
            assertThatThrownBy(() -> SocketCapture.transfer(image, 2L * CHUNK, B, dir))
                    .hasMessageContaining("does not match its SHA-256"); // the direct path too: never sent
            assertThat(image.readsLocally(2L * CHUNK, B)).isFalse();
            ByteBuffer last = ByteBuffer.allocate(CHUNK);
            image.read(last, 3L * CHUNK);
            assertThat(last.array()).isEqualTo(Arrays.copyOfRange(bytes, 3 * CHUNK, 4 * CHUNK));
            assertThat(images.stats()).singleElement().satisfies(s -> assertThat(s.presentBytes()).isEqualTo(3L * CHUNK));
            assertThat(objects.reads.get()).isZero();
        }
    }

    @Test
    void prefetch_checksChunksInTheBackground_withinThePipelinesLimits() throws Exception {
        put(true);
        FetchPipeline pipeline = new FetchPipeline(1, 1, 8);
        var info = objects.info(TemplateStore.rootfsKey(build));
        ChunkDigests digests = ChunkDigests.parse(objects.get(TemplateStore.digestsKey(build)));
        try (StoreFile file = StoreFile.open(objects, TemplateStore.rootfsKey(build), info, CHUNK, digests, pipeline)
                .orElseThrow()) {
            var done = file.prefetch(0, SIZE);
            assertThat(pipeline.running() + pipeline.queued()).isLessThanOrEqualTo(SIZE / CHUNK);
            assertThat(pipeline.running()).isLessThanOrEqualTo(1);
            done.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(file.present(0, SIZE)).isTrue();
            assertThat(file.checks()).isEqualTo(SIZE / CHUNK);
        }
    }

    @Test
    void anObjectReplacedWhileOpen_keepsServingTheVersionItWasOpenedOn() throws Exception {
        put(false);
        try (BuildImages images = images(FetchPolicy.DEFAULT)) {
            LayeredImage image = images.open(images.layout(build));
            image.read(ByteBuffer.allocate(B), 0);
            byte[] other = bytes.clone();
            Arrays.fill(other, (byte) 0x5a);
            Path replacement = Files.write(dir.resolve("replacement"), other);
            Files.move(replacement, object(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            ByteBuffer all = ByteBuffer.allocate(SIZE);
            image.read(all, 0);
            assertThat(all.array()).isEqualTo(bytes);
            Files.delete(object()); // gone from the store: still readable by the mounts that have it
            assertThat(SocketCapture.transfer(image, 0, SIZE, dir)).isEqualTo(bytes);
        }
    }

    @Test
    void anObjectReplacedBeforeItIsOpened_isNotOpenedAsTheVersionTheLayoutSaw() throws Exception {
        put(false);
        var seen = objects.info(TemplateStore.rootfsKey(build));
        Path replacement = Files.write(dir.resolve("replacement"), bytes);
        Files.move(replacement, object(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertThat(StoreFile.open(objects, TemplateStore.rootfsKey(build), seen, CHUNK, null,
                FetchPipeline.of(FetchPolicy.DEFAULT))).isEmpty();
        assertThat(StoreFile.open(objects, TemplateStore.rootfsKey(build), objects.info(TemplateStore.rootfsKey(build)),
                CHUNK, null, FetchPipeline.of(FetchPolicy.DEFAULT))).hasValueSatisfying(file -> {
                    try {
                        file.close();
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
    }
}
