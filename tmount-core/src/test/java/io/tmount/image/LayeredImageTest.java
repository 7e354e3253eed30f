package io.tmount.image;

import io.tmount.header.BuildMapping;
import io.tmount.header.HeaderCodec;
import io.tmount.header.Header;
import io.tmount.TmountException;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Builds composed from their layers, read through the shared chunk caches, against a real local store. */
class LayeredImageTest {

    private static final int B = 4096;
    private static final int SIZE = 64 * B;

    @TempDir
    Path dir;

    private CountingStore objects;
    private TemplateStore store;
    private BuildImages images;
    private final BuildId base = BuildId.of("base-build");  // not a UUID: reached through the aliases
    private final BuildId mid = BuildId.of("4f1c8a8e-6f7b-4c1e-9d5e-1b2c3d4e5f60");
    private final BuildId top = BuildId.of("9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d");
    private byte[] baseBytes;
    private byte[] midOwn;
    private byte[] topOwn;

    @BeforeEach
    void chain() throws IOException {
        objects = new CountingStore(new StoreLocation.Local(dir.resolve("store")).open());
        store = new TemplateStore(objects);
        images = new BuildImages(store, dir.resolve("cache"), 16 * B, new CacheBudget(1 << 30),
                FetchPolicy.DEFAULT.withCopyLocalStore(true)); // the chunk cache is what these tests are about
        baseBytes = random(SIZE, 1);
        midOwn = random(8 * B, 2);
        topOwn = random(4 * B, 3);
        put(base, baseBytes, null, Map.of());
        // mid: blocks 8-15 its own, 16-23 zeros, the rest the base
        put(mid, midOwn, new Header(3, B, SIZE, 1, mid.uuid(), base.uuid(), List.of(
                new BuildMapping(0, 8L * B, base.uuid(), 0),
                new BuildMapping(8L * B, 8L * B, mid.uuid(), 0),
                new BuildMapping(16L * B, 8L * B, BuildMapping.NIL, 0),
                new BuildMapping(24L * B, 40L * B, base.uuid(), 24L * B))), Map.of(base.uuid(), base));
        // top: blocks 12-13 and 30-31 its own, over mid
        put(top, topOwn, new Header(3, B, SIZE, 2, top.uuid(), base.uuid(), List.of(
                new BuildMapping(0, 8L * B, base.uuid(), 0),
                new BuildMapping(8L * B, 4L * B, mid.uuid(), 0),
                new BuildMapping(12L * B, 2L * B, top.uuid(), 0),
                new BuildMapping(14L * B, 2L * B, mid.uuid(), 6L * B),
                new BuildMapping(16L * B, 8L * B, BuildMapping.NIL, 0),
                new BuildMapping(24L * B, 6L * B, base.uuid(), 24L * B),
                new BuildMapping(30L * B, 2L * B, top.uuid(), 2L * B),
                new BuildMapping(32L * B, 32L * B, base.uuid(), 32L * B))), Map.of(base.uuid(), base));
    }

    @AfterEach
    void close() throws IOException {
        images.close();
    }

    private void put(BuildId build, byte[] rootfs, Header header, Map<UUID, BuildId> aliases) throws IOException {
        Path file = Files.write(dir.resolve(build + ".img"), rootfs);
        BuildMetadata metadata = BuildMetadata.forNewBuild(build, TemplateId.of("t"), null, SIZE, Instant.now())
                .withBuildAliases(aliases);
        if (header == null) {
            store.publish(metadata, file);
        } else {
            store.publishLayer(metadata, file, HeaderCodec.write(header));
        }
    }

    /** What the top build's device must contain, composed by hand. */
    private byte[] expectedTop() {
        byte[] device = baseBytes.clone();
        System.arraycopy(midOwn, 0, device, 8 * B, 8 * B);
        Arrays.fill(device, 16 * B, 24 * B, (byte) 0);
        System.arraycopy(topOwn, 0, device, 12 * B, 2 * B);
        System.arraycopy(topOwn, 2 * B, device, 30 * B, 2 * B);
        return device;
    }

    @Test
    void extents_nilRangesAndHolesOfLocalObjects_areSparse_andCacheFetchesAhead() throws IOException {
        Path baseObject = dir.resolve("store/base-build/rootfs.ext4");
        io.tmount.testing.Run.ok("fallocate", "--punch-hole", "--offset", String.valueOf(40L * B), "--length",
                String.valueOf(8L * B), baseObject.toString());
        LayeredImage image = images.open(images.layout(top));
        assertThat(image.extents(0, SIZE)).containsExactly(new Extent(16L * B, 0), new Extent(8L * B, Extent.SPARSE),
                new Extent(16L * B, 0), new Extent(8L * B, Extent.SPARSE), new Extent(16L * B, 0));
        assertThat(image.extents(18L * B, 4L * B)).containsExactly(new Extent(4L * B, Extent.SPARSE));

        image.cache(0, SIZE);
        long fetched = objects.bytes.get();
        ByteBuffer all = ByteBuffer.allocateDirect(SIZE);
        image.read(all, 0);
        assertThat(objects.bytes.get()).isEqualTo(fetched); // everything was already in the caches
    }

    @Test
    void aThreeLevelChain_readsAsItsComposition_inAnyPieces() throws IOException {
        LayeredImage image = images.open(images.layout(top));
        byte[] expected = expectedTop();
        ByteBuffer all = ByteBuffer.allocateDirect(SIZE);
        image.read(all, 0);
        byte[] read = new byte[SIZE];
        all.flip().get(read);
        assertThat(Arrays.mismatch(read, expected)).isEqualTo(-1);
        Random random = new Random(4);
        for (int i = 0; i < 200; i++) {
            int offset = random.nextInt(SIZE - 1);
            int length = 1 + random.nextInt(Math.min(20 * B, SIZE - offset));
            ByteBuffer piece = ByteBuffer.allocate(length);
            image.read(piece, offset);
            assertThat(Arrays.mismatch(piece.array(), Arrays.copyOfRange(expected, offset, offset + length))).isEqualTo(-1);
        }
    }

    @Test
    void zeroRanges_neverFetch_andOnlyTouchedChunksAreFetched() throws IOException {
        LayeredImage image = images.open(images.layout(top));
        image.read(ByteBuffer.allocate(8 * B), 16L * B);
        assertThat(objects.reads.get()).isZero();
        image.read(ByteBuffer.allocate(100), 12L * B); // one block of top's own
        assertThat(objects.bytes.get()).isEqualTo(4L * B); // top's object is only 4 blocks: one short chunk
    }

    @Test
    void readsLocally_onlyWhenEveryChunkTheRangeMapsToIsCached() throws IOException {
        LayeredImage image = images.open(images.layout(top));
        assertThat(image.readsLocally(16L * B, 8L * B)).as("nil: nothing to fetch").isTrue();
        assertThat(image.readsLocally(0, B)).isFalse();
        image.read(ByteBuffer.allocate(B), 0); // the base's first chunk (blocks 0-15 of its object)
        assertThat(image.readsLocally(0, 8L * B)).isTrue();
        assertThat(image.readsLocally(7L * B, 2L * B)).as("block 8 is mid's, not fetched").isFalse();
        assertThat(image.readsLocally(0, SIZE)).isFalse();
        image.cache(0, SIZE);
        assertThat(image.readsLocally(0, SIZE)).isTrue();
    }

    @Test
    void transferTo_sendsTheComposition_fetchingWhatIsMissing() throws Exception {
        LayeredImage image = images.open(images.layout(top));
        byte[] expected = expectedTop();
        assertThat(SocketCapture.transfer(image, 0, SIZE, dir)).isEqualTo(expected);
        assertThat(image.transfersDirectly(0, SIZE)).isTrue(); // everything is cached now
        assertThat(SocketCapture.transfer(image, 7L * B + 3, 20 * B, dir))
                .isEqualTo(Arrays.copyOfRange(expected, 7 * B + 3, 27 * B + 3));
    }

    @Test
    void buildsShareTheirCaches_acrossChainsAndMounts() throws IOException {
        LayeredImage one = images.open(images.layout(top));
        LayeredImage two = images.open(images.layout(mid));
        one.read(ByteBuffer.allocate(B), 0);
        long fetched = objects.bytes.get();
        two.read(ByteBuffer.allocate(B), 0); // the same base chunk, through another build's chain
        assertThat(objects.bytes.get()).isEqualTo(fetched);
        assertThat(images.stats()).extracting(CacheStats::object).contains("base-build/rootfs.ext4");
    }

    @Test
    void layout_ofAHeaderlessBuild_isOneWholeLayer_withTheHeaderE2bAssumes() {
        BuildLayout layout = images.layout(base);
        assertThat(layout.headerless()).isTrue();
        assertThat(layout.mappings()).containsExactly(new BuildMapping(0, SIZE, base.uuid(), 0));
        // e2b reads a build without a header as version 1, generation 1 (so a layer over it is generation 2)
        assertThat(layout.header().format()).isEqualTo(1);
        assertThat(layout.header().generation()).isEqualTo(1);
    }

    @Test
    void layout_ofAChain_namesEveryBuildsFolder_andTheBytesEachHolds() {
        BuildLayout layout = images.layout(top);
        assertThat(layout.folders()).containsEntry(base.uuid(), base).containsEntry(mid.uuid(), mid)
                .containsEntry(top.uuid(), top);
        assertThat(layout.contributions()).containsEntry(top.uuid(), 4L * B).containsEntry(mid.uuid(), 6L * B)
                .containsEntry(BuildMapping.NIL, 8L * B).containsEntry(base.uuid(), 46L * B);
        BuildReport report = BuildReport.of(store, top);
        assertThat(report.generation()).isEqualTo(2);
        assertThat(report.layers()).extracting(BuildReport.Layer::build).containsExactly(base, mid, top, null);
    }

    @Test
    void aHeaderPointingPastAnObject_isAnErrorAtMountTime() throws IOException {
        BuildId bad = BuildId.of("bad");
        put(bad, new byte[B], new Header(3, B, SIZE, 1, bad.uuid(), base.uuid(), List.of(
                new BuildMapping(0, 2L * B, bad.uuid(), 0),
                new BuildMapping(2L * B, 62L * B, base.uuid(), 2L * B))), Map.of(base.uuid(), base, bad.uuid(), bad));
        assertThatThrownBy(() -> images.layout(bad)).isInstanceOf(TmountException.class)
                .hasMessageContaining("maps bytes up to offset 8192 of build bad").hasMessageContaining("has only 4096 bytes");
    }

    @Test
    void aHeaderNamingAMissingBuild_isAnErrorAtMountTime() throws IOException {
        BuildId orphan = BuildId.of("orphan");
        UUID gone = UUID.fromString("00000000-0000-4000-8000-00000000dead");
        put(orphan, new byte[B], new Header(3, B, SIZE, 1, orphan.uuid(), gone, List.of(
                new BuildMapping(0, SIZE, gone, 0))), Map.of(orphan.uuid(), orphan));
        assertThatThrownBy(() -> images.layout(orphan))
                .hasMessageContaining("maps bytes to build " + gone + ", whose data object " + gone
                        + "/rootfs.ext4 is missing from the store");
    }

    @Test
    void aHeaderOfManyNilMappings_opensInLinearTime() throws IOException {
        // issue 12 D5: every other block mapped to the nil build made opening the image quadratic (minutes)
        int count = 400_000;
        BuildId many = BuildId.of("5a5a5a5a-5a5a-4a5a-8a5a-5a5a5a5a5a5a");
        List<BuildMapping> mappings = new java.util.ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            mappings.add(i % 2 == 0 ? new BuildMapping((long) i * B, B, many.uuid(), (long) (i / 2) * B)
                    : new BuildMapping((long) i * B, B, BuildMapping.NIL, 0));
        }
        Path own = dir.resolve("many.img");
        try (var file = new java.io.RandomAccessFile(own.toFile(), "rw")) {
            file.setLength((long) (count / 2) * B); // sparse
        }
        store.publishLayer(BuildMetadata.forNewBuild(many, TemplateId.of("t"), null, (long) count * B, Instant.now()),
                own, HeaderCodec.write(new Header(3, B, (long) count * B, 1, many.uuid(), many.uuid(), mappings)));
        LayeredImage image = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
                () -> images.open(images.layout(many)));
        assertThat(image.mappings()).hasSize(count);
    }

    @Test
    void aHeaderOfAnotherBuild_isRefused() throws IOException {
        BuildId copy = BuildId.of("copy");
        Files.createDirectories(dir.resolve("store/copy"));
        Files.copy(dir.resolve("store/" + top + "/rootfs.ext4"), dir.resolve("store/copy/rootfs.ext4"));
        Files.copy(dir.resolve("store/" + top + "/rootfs.ext4.header"), dir.resolve("store/copy/rootfs.ext4.header"));
        assertThatThrownBy(() -> images.layout(copy)).hasMessageContaining("names build " + top.uuid());
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
