package io.tmount.image;

import io.tmount.TmountException;
import io.tmount.compress.Compression;
import io.tmount.compress.FrameCodec;
import io.tmount.compress.FrameTable;
import io.tmount.compress.FramedWriter;
import io.tmount.header.BuildData;
import io.tmount.header.BuildMapping;
import io.tmount.header.Header;
import io.tmount.header.HeaderCodec;
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
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Chains with e2b's version 4 and 5 headers and compressed data objects, made by hand against a real local store,
 * read through the shared chunk caches: mixed chains, trimmed frame tables, header-only layers, and every way such a
 * build can be broken.
 */
class CompressedLayoutTest {

    private static final int B = 4096;
    private static final int SIZE = 64 * B;
    private static final int FRAME = 4 * B;
    /** Frames that are not a power of two: the cache keeps its 64 KiB chunks, each spanning several frames. */
    private static final int ODD_FRAME = 3 * B;

    @TempDir
    Path dir;

    private TemplateStore store;
    private BuildImages images;
    private final BuildId base = BuildId.of("11111111-1111-4111-8111-111111111111");
    private final BuildId mid = BuildId.of("22222222-2222-4222-8222-222222222222");
    private final BuildId top = BuildId.of("33333333-3333-4333-8333-333333333333");
    private byte[] baseBytes;
    private byte[] midOwn;
    private byte[] topOwn;
    private final Map<BuildId, BuildData> stored = new HashMap<>();

    @BeforeEach
    void setUp() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        images = new BuildImages(store, dir.resolve("cache"), 16 * B, new CacheBudget(1 << 30));
        baseBytes = compressible(SIZE, 1);
        midOwn = compressible(8 * B, 2);
        topOwn = compressible(4 * B, 3);
    }

    @AfterEach
    void tearDown() throws IOException {
        images.close();
    }

    /** Stores {@code data} as the build's data object in {@code compression}, and records what a header would. */
    private void data(BuildId build, byte[] data, Compression compression, int frameSize) throws IOException {
        Path raw = Files.write(dir.resolve(build + ".raw"), data);
        Path object = dir.resolve("store").resolve(TemplateStore.dataKey(build, compression));
        Files.createDirectories(object.getParent());
        if (compression == Compression.NONE) {
            Files.copy(raw, object);
            try (FileChannel in = FileChannel.open(raw)) {
                stored.put(build, new BuildData(data.length, FramedWriter.sha256(in, data.length), FrameTable.NONE));
            }
            return;
        }
        try (FileChannel in = FileChannel.open(raw);
             FileChannel out = FileChannel.open(object, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            FramedWriter.Result r = new FramedWriter(FrameCodec.of(compression, 0), frameSize).write(in, data.length, out);
            stored.put(build, new BuildData(data.length, r.sha256(), r.table()));
        }
    }

    private void header(BuildId build, Header header) throws IOException {
        Path file = dir.resolve("store").resolve(TemplateStore.headerKey(build));
        Files.createDirectories(file.getParent());
        Files.write(file, HeaderCodec.write(header));
        store.objects().put(TemplateStore.metadataKey(build), ("{\"version\":2,\"template\":{\"build_id\":\"" + build
                + "\"}}").getBytes());
    }

    private static List<BuildMapping> midMappings(BuildId base, BuildId mid) {
        return List.of(
                new BuildMapping(0, 8L * B, base.uuid(), 0),
                new BuildMapping(8L * B, 8L * B, mid.uuid(), 0),
                new BuildMapping(16L * B, 8L * B, BuildMapping.NIL, 0),
                new BuildMapping(24L * B, 40L * B, base.uuid(), 24L * B));
    }

    private List<BuildMapping> topMappings() {
        return List.of(
                new BuildMapping(0, 8L * B, base.uuid(), 0),
                new BuildMapping(8L * B, 4L * B, mid.uuid(), 0),
                new BuildMapping(12L * B, 2L * B, top.uuid(), 0),
                new BuildMapping(14L * B, 2L * B, mid.uuid(), 6L * B),
                new BuildMapping(16L * B, 8L * B, BuildMapping.NIL, 0),
                new BuildMapping(24L * B, 6L * B, base.uuid(), 24L * B),
                new BuildMapping(30L * B, 2L * B, top.uuid(), 2L * B),
                new BuildMapping(32L * B, 32L * B, base.uuid(), 32L * B));
    }

    private byte[] expectedMid() {
        byte[] device = baseBytes.clone();
        System.arraycopy(midOwn, 0, device, 8 * B, 8 * B);
        Arrays.fill(device, 16 * B, 24 * B, (byte) 0);
        return device;
    }

    private byte[] expectedTop() {
        byte[] device = expectedMid();
        System.arraycopy(topOwn, 0, device, 12 * B, 2 * B);
        System.arraycopy(topOwn, 2 * B, device, 30 * B, 2 * B);
        return device;
    }

    /** base zstd (V4), mid uncompressed (V4), top lz4 (version given): the Builds sections as e2b writes them. */
    private void compressedChain(int topVersion, int frameSize) throws IOException {
        data(base, baseBytes, Compression.ZSTD, frameSize);
        header(base, new Header(4, B, SIZE, 0, base.uuid(), base.uuid(),
                List.of(new BuildMapping(0, SIZE, base.uuid(), 0)), Map.of(base.uuid(), stored.get(base))));
        data(mid, midOwn, Compression.NONE, 0);
        header(mid, new Header(4, B, SIZE, 1, mid.uuid(), base.uuid(), midMappings(base, mid),
                Map.of(base.uuid(), stored.get(base), mid.uuid(), stored.get(mid))));
        data(top, topOwn, Compression.LZ4, frameSize);
        header(top, new Header(topVersion, B, SIZE, 2, top.uuid(), base.uuid(), topMappings(),
                Map.of(base.uuid(), stored.get(base), mid.uuid(), stored.get(mid), top.uuid(), stored.get(top))));
    }

    private byte[] device(BuildId build) throws IOException {
        LayeredImage image = images.open(images.layout(build));
        ByteBuffer all = ByteBuffer.allocate((int) image.size());
        // odd-sized reads that start and end inside frames and chunks
        for (int at = 0; at < image.size(); ) {
            int n = Math.min(all.remaining(), 3 * B + 517);
            image.read(all.slice(at, n), at);
            at += n;
            all.position(at);
        }
        return all.array();
    }

    @Test
    void version4And5Chains_ofZstdPlainAndLz4Layers_readByteForByte() throws IOException {
        for (int version : new int[]{4, 5}) {
            compressedChain(version, FRAME);
            assertThat(device(top)).as("version %d", version).isEqualTo(expectedTop());
            assertThat(device(mid)).isEqualTo(expectedMid());
            BuildLayout layout = images.layout(top);
            assertThat(layout.layer(base.uuid()).key()).isEqualTo(base + "/rootfs.ext4.zstd");
            assertThat(layout.layer(mid.uuid()).key()).isEqualTo(mid + "/rootfs.ext4");
            assertThat(layout.layer(top.uuid()).key()).isEqualTo(top + "/rootfs.ext4.lz4");
            assertThat(images.stats()).extracting(CacheStats::object).contains(base + "/rootfs.ext4.zstd");
            tearDown();
            Folders.clean(dir);
            setUp();
        }
    }

    @Test
    void aColdRead_fetchesEachChunksFrameRunWithOneRangedRead() throws IOException {
        compressedChain(4, ODD_FRAME);
        java.util.Map<String, java.util.concurrent.atomic.AtomicInteger> reads = new java.util.concurrent.ConcurrentHashMap<>();
        TemplateStore counted = new TemplateStore(new io.tmount.testing.ForwardingStore(store.objects()) {
            @Override
            public int read(String key, long offset, ByteBuffer dst) throws IOException {
                reads.computeIfAbsent(key, k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
                return super.read(key, offset, dst);
            }
        });
        try (BuildImages own = new BuildImages(counted, dir.resolve("cache2"), 16 * B, new CacheBudget(1 << 30))) {
            LayeredImage image = own.open(own.layout(top));
            image.read(ByteBuffer.allocate(SIZE), 0);
            // the base is 4 chunks of 5-6 frames each; the device maps bytes of all 4: 4 ranged reads, not 22
            assertThat(reads.get(base + "/rootfs.ext4.zstd")).hasValue(4);
            assertThat(reads.get(top + "/rootfs.ext4.lz4")).hasValue(1);
        }
    }

    @Test
    void framesLargerThanAChunk_areCutToTheChunk() throws IOException {
        compressedChain(4, 32 * B); // 128 KiB frames over 64 KiB chunks
        assertThat(device(top)).isEqualTo(expectedTop());
    }

    @Test
    void aVersion3Child_ofCompressedAncestors_findsThemThroughTheirOwnHeaders() throws IOException {
        compressedChain(4, FRAME);
        BuildId child = BuildId.of("44444444-4444-4444-8444-444444444444");
        byte[] own = compressible(B, 9);
        data(child, own, Compression.NONE, 0);
        List<BuildMapping> mappings = new java.util.ArrayList<>(topMappings());
        mappings.set(0, new BuildMapping(0, B, child.uuid(), 0));
        mappings.add(1, new BuildMapping(B, 7L * B, base.uuid(), B));
        header(child, new Header(3, B, SIZE, 3, child.uuid(), base.uuid(), mappings));
        byte[] expected = expectedTop();
        System.arraycopy(own, 0, expected, 0, B);
        assertThat(device(child)).isEqualTo(expected);
    }

    @Test
    void aHeaderOnlyLayer_hasNoDataObject_andReadsThroughToItsAncestors() throws IOException {
        compressedChain(4, FRAME);
        BuildId empty = BuildId.of("55555555-5555-4555-8555-555555555555");
        List<BuildMapping> mappings = List.of(
                new BuildMapping(0, 8L * B, base.uuid(), 0),
                new BuildMapping(8L * B, 56L * B, BuildMapping.NIL, 0));
        header(empty, new Header(4, B, SIZE, 3, empty.uuid(), base.uuid(), mappings,
                Map.of(base.uuid(), stored.get(base), empty.uuid(), BuildData.UNKNOWN)));
        byte[] expected = new byte[SIZE];
        System.arraycopy(baseBytes, 0, expected, 0, 8 * B);
        assertThat(store.exists(empty)).isTrue();
        assertThat(device(empty)).isEqualTo(expected);
        BuildReport report = BuildReport.of(store, empty);
        assertThat(report.layers()).filteredOn(l -> empty.equals(l.build())).singleElement()
                .satisfies(l -> assertThat(l.hasData()).isFalse());

        // one that maps bytes to itself without a data object is an error naming the object
        BuildId broken = BuildId.of("66666666-6666-4666-8666-666666666666");
        header(broken, new Header(3, B, SIZE, 1, broken.uuid(), broken.uuid(),
                List.of(new BuildMapping(0, SIZE, broken.uuid(), 0))));
        assertThatThrownBy(() -> images.layout(broken)).isInstanceOf(TmountException.class)
                .hasMessageContaining("maps bytes to this build itself, but its data object " + broken
                        + "/rootfs.ext4 is missing");
    }

    @Test
    void twoHeadersWithTrimmedTables_ofOneObject_shareOneCacheThatLearnsBothTables() throws IOException {
        compressedChain(4, FRAME);
        // a second child that maps only the end of the base: its table holds only those frames
        BuildId other = BuildId.of("77777777-7777-4777-8777-777777777777");
        FrameTable trimmed = stored.get(base).frames().trimmedTo(List.<long[]>of(new long[]{48L * B, 64L * B}));
        assertThat(trimmed.count()).isEqualTo(4);
        header(other, new Header(4, B, SIZE, 1, other.uuid(), base.uuid(), List.of(
                new BuildMapping(0, 48L * B, BuildMapping.NIL, 0),
                new BuildMapping(48L * B, 16L * B, base.uuid(), 48L * B)),
                Map.of(base.uuid(), new BuildData(SIZE, null, trimmed), other.uuid(), BuildData.UNKNOWN)));
        byte[] expected = new byte[SIZE];
        System.arraycopy(baseBytes, 48 * B, expected, 48 * B, 16 * B);
        assertThat(device(other)).isEqualTo(expected);
        assertThat(device(top)).isEqualTo(expectedTop()); // the same cache, now with the whole table
    }

    @Test
    void trimmedTablesWithoutTheBuildsOwnHeader_stillRead_chunksOverGapsGoStraightToTheStore() throws IOException {
        compressedChain(4, ODD_FRAME);
        Files.delete(dir.resolve("store").resolve(TemplateStore.headerKey(base)));
        // top's table of the base holds frames 0-2, 8-21 only: chunk 0 (frames 0-5) and 1 (5-10) cannot be cached
        assertThat(device(top)).isEqualTo(expectedTop());
        assertThat(device(top)).isEqualTo(expectedTop());
        CacheStats base = images.stats().stream().filter(c -> c.object().endsWith(".zstd")).findFirst().orElseThrow();
        assertThat(base.presentBytes()).isEqualTo(32L * B); // chunks 2-3 only
    }

    @Test
    void brokenCompressedBuilds_areOneLineErrorsAtMountTime() throws IOException {
        compressedChain(4, FRAME);
        FrameTable full = stored.get(base).frames();
        // a table with a gap where a mapping needs data (and no own header of the build to fill it)
        Files.delete(dir.resolve("store").resolve(TemplateStore.headerKey(base)));
        BuildId gap = BuildId.of("88888888-8888-4888-8888-888888888888");
        FrameTable holey = full.trimmedTo(List.<long[]>of(new long[]{0, 4L * B}));
        header(gap, new Header(4, B, SIZE, 1, gap.uuid(), base.uuid(), List.of(new BuildMapping(0, SIZE, base.uuid(), 0)),
                Map.of(base.uuid(), new BuildData(SIZE, null, holey), gap.uuid(), BuildData.UNKNOWN)));
        assertThatThrownBy(() -> images.layout(gap))
                .hasMessageContaining("maps bytes 0 to 262144 of build " + base + ", but its frame table has no frame "
                        + "for offset 16384");
        // the compressed object shorter than its table says
        Path object = dir.resolve("store").resolve(TemplateStore.dataKey(base, Compression.ZSTD));
        byte[] whole = Files.readAllBytes(object);
        Files.write(object, Arrays.copyOf(whole, whole.length - 10));
        assertThatThrownBy(() -> images.layout(top)).hasMessageContaining("a short object");
        // no compressed object at all
        Files.delete(object);
        assertThatThrownBy(() -> images.layout(top))
                .hasMessageContaining("whose data object " + base + "/rootfs.ext4.zstd is missing from the store");
    }

    @Test
    void verify_namesEveryDamagedBuild_aBadFrame_aShaMismatch_andPassesAnIntactChain() throws IOException {
        compressedChain(4, FRAME);
        BuildVerifier verifier = new BuildVerifier(store);
        assertThat(verifier.verify(top)).hasSize(3).allSatisfy(c -> {
            assertThat(c.problems()).isEmpty();
            assertThat(c.actualSha256()).isEqualTo(c.expectedSha256()).isNotNull();
        });
        // mid's plain data changed in place: it still reads, but not as its header recorded it
        Path midObject = dir.resolve("store").resolve(TemplateStore.rootfsKey(mid));
        byte[] plain = Files.readAllBytes(midObject);
        plain[5] ^= 1;
        Files.write(midObject, plain);
        // one of the base's frames damaged
        Path baseObject = dir.resolve("store").resolve(TemplateStore.dataKey(base, Compression.ZSTD));
        byte[] framed = Files.readAllBytes(baseObject);
        FrameTable t = stored.get(base).frames();
        framed[(int) (t.startC(5) + t.sizeC(5) / 2)] ^= 0x11;
        Files.write(baseObject, framed);
        var checks = verifier.verify(top);
        assertThat(checks).filteredOn(c -> c.build().equals(mid)).singleElement()
                .satisfies(c -> assertThat(c.problems()).singleElement().asString().contains("SHA-256 mismatch"));
        assertThat(checks).filteredOn(c -> c.build().equals(base)).singleElement()
                .satisfies(c -> assertThat(c.problems()).singleElement().asString()
                        .contains("frame 5 (uncompressed offset 81920").contains("is damaged"));
        assertThat(checks).filteredOn(c -> c.build().equals(top)).singleElement()
                .satisfies(c -> assertThat(c.problems()).isEmpty());
    }

    @Test
    void aDamagedFrame_failsTheRead_andIsNeverServed() throws IOException {
        compressedChain(4, FRAME);
        Path object = dir.resolve("store").resolve(TemplateStore.dataKey(base, Compression.ZSTD));
        byte[] whole = Files.readAllBytes(object);
        FrameTable t = stored.get(base).frames();
        whole[(int) (t.startC(2) + t.sizeC(2) / 2)] ^= 0x5a; // inside frame 2: device bytes 32 KiB to 48 KiB
        Files.write(object, whole);
        LayeredImage image = images.open(images.layout(base));
        // frame 2 holds device bytes 32-48 KiB: a read there fails, again on every try, rather than serve it
        for (int attempt = 0; attempt < 2; attempt++) {
            assertThatThrownBy(() -> image.read(ByteBuffer.allocate(B), 9L * B)).isInstanceOf(IOException.class)
                    .hasMessageContaining("frame 2 of " + base + "/rootfs.ext4.zstd").hasMessageContaining("damaged");
        }
        for (long at : new long[]{0, 40L * B}) { // other frames of the same object are fine
            ByteBuffer other = ByteBuffer.allocate(B);
            image.read(other, at);
            assertThat(other.array()).isEqualTo(Arrays.copyOfRange(baseBytes, (int) at, (int) at + B));
        }
    }

    private static byte[] compressible(int length, long seed) {
        Random random = new Random(seed);
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i += 64) {
            if (random.nextBoolean()) {
                byte[] noise = new byte[Math.min(32, length - i)];
                random.nextBytes(noise);
                System.arraycopy(noise, 0, bytes, i, noise.length);
            }
        }
        return bytes;
    }

    /** Removes what a test made, so the next round starts from nothing. */
    private static final class Folders {
        static void clean(Path dir) throws IOException {
            io.tmount.os.Folders.deleteTree(dir.resolve("store"));
            io.tmount.os.Folders.deleteTree(dir.resolve("cache"));
        }
    }
}
