package io.tmount.image;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Copy-on-write semantics against a model: the expected device content, updated by every operation. */
class OverlayTest {

    private static final int SIZE = 1 << 20;
    private static final int B = Overlay.BLOCK;

    @TempDir
    Path dir;

    private byte[] base;
    private byte[] model;
    private MemoryImage lower;

    @BeforeEach
    void setUp() {
        base = new byte[SIZE];
        new Random(3).nextBytes(base);
        model = base.clone();
        lower = new MemoryImage(base);
    }

    private void write(Overlay overlay, long offset, int length, int seed) throws IOException {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        overlay.write(ByteBuffer.wrap(data), offset);
        System.arraycopy(data, 0, model, (int) offset, length);
    }

    private void zero(Overlay overlay, long offset, int length, boolean trim) throws IOException {
        if (trim) {
            overlay.trim(offset, length);
        } else {
            overlay.writeZeroes(offset, length, false);
        }
        Arrays.fill(model, (int) offset, (int) offset + length, (byte) 0);
    }

    private void assertMatchesModel(Overlay overlay) throws IOException {
        ByteBuffer all = ByteBuffer.allocateDirect(SIZE);
        overlay.read(all, 0);
        all.flip();
        byte[] read = new byte[SIZE];
        all.get(read);
        assertThat(Arrays.mismatch(read, model)).as("first differing byte of the whole device").isEqualTo(-1);
        // and in odd pieces too
        Random random = new Random(9);
        for (int i = 0; i < 50; i++) {
            int offset = random.nextInt(SIZE - 1);
            int length = 1 + random.nextInt(Math.min(3 * B, SIZE - offset));
            ByteBuffer piece = ByteBuffer.allocate(length);
            overlay.read(piece, offset);
            assertThat(Arrays.mismatch(piece.array(), Arrays.copyOfRange(model, offset, offset + length)))
                    .as("first differing byte of %d bytes at %d", length, offset).isEqualTo(-1);
        }
    }

    @Test
    void fullAndPartialBlockWrites_readBack_andTheLayerBelowIsUntouched() throws IOException {
        try (Overlay overlay = Overlay.open(lower, dir)) {
            write(overlay, 0, B, 1);                 // one whole block
            write(overlay, 3 * B + 100, 50, 2);      // inside a block: copied up first
            write(overlay, 6 * B - 10, 2 * B + 20, 3); // unaligned head, a whole block, unaligned tail
            write(overlay, 3 * B + 200, 10, 4);      // again inside the block it already owns
            assertMatchesModel(overlay);
            assertThat(overlay.ownBlocks()).isEqualTo(1 + 1 + 4); // blocks 0, 3, and 5 to 8
            assertThat(overlay.source(3)).isEqualTo(Overlay.Source.OWN);
            assertThat(overlay.source(4)).isEqualTo(Overlay.Source.BELOW);
        }
        assertThat(lower.size()).isEqualTo(SIZE);
        byte[] again = new byte[SIZE];
        lower.read(ByteBuffer.wrap(again), 0);
        assertThat(again).isEqualTo(base);
    }

    @Test
    void trimAndZero_wholeBlocksBecomeZeroBlocks_partialBlocksAreWrittenWithZeros() throws IOException {
        try (Overlay overlay = Overlay.open(lower, dir)) {
            write(overlay, 10 * B, 4 * B, 5);
            zero(overlay, 10 * B, 2 * B, true);       // owned blocks become zero blocks
            zero(overlay, 20 * B + 7, 3 * B, false);  // partial, two... whole block(s) in the middle, partial
            zero(overlay, 40 * B + 1, 10, true);      // inside one block only
            assertMatchesModel(overlay);
            assertThat(overlay.source(10)).isEqualTo(Overlay.Source.ZERO);
            assertThat(overlay.source(12)).isEqualTo(Overlay.Source.OWN);
            assertThat(overlay.source(21)).isEqualTo(Overlay.Source.ZERO);
            assertThat(overlay.source(20)).isEqualTo(Overlay.Source.OWN);
            assertThat(overlay.source(40)).isEqualTo(Overlay.Source.OWN);
            long readBefore = lower.bytesRead.get();
            overlay.read(ByteBuffer.allocate(2 * B), 10 * B);
            assertThat(lower.bytesRead.get()).isEqualTo(readBefore); // zero blocks never read the layer below
            write(overlay, 10 * B + 5, 5, 6);         // a partial write on a zero block copies zeros up
            assertMatchesModel(overlay);
        }
    }

    @Test
    void aDeviceWhoseSizeIsNotWholeBlocks_handlesTheLastPartialBlock() throws IOException {
        byte[] odd = Arrays.copyOf(base, 10 * B + 1000);
        model = odd.clone();
        try (Overlay overlay = Overlay.open(new MemoryImage(odd), dir)) {
            overlay.write(ByteBuffer.wrap(new byte[1000]), 10 * B);
            Arrays.fill(model, 10 * B, 10 * B + 1000, (byte) 0);
            overlay.writeZeroes(9 * B, B + 1000, false);
            Arrays.fill(model, 9 * B, 10 * B + 1000, (byte) 0);
            ByteBuffer all = ByteBuffer.allocate(odd.length);
            overlay.read(all, 0);
            assertThat(all.array()).isEqualTo(model);
        }
    }

    @Test
    void flush_makesTheStateSurviveAReopen() throws IOException {
        try (Overlay overlay = Overlay.open(lower, dir)) {
            write(overlay, 5 * B, B, 7);
            zero(overlay, 30 * B, 4 * B, true);
            write(overlay, 50 * B + 3, 3, 8);
            overlay.flush();
        }
        try (Overlay reopened = Overlay.open(lower, dir)) {
            assertMatchesModel(reopened);
            assertThat(reopened.ownBlocks()).isEqualTo(2);
            assertThat(reopened.zeroBlocks()).isEqualTo(4);
        }
    }

    @Test
    void writesAfterTheLastFlush_areNotClaimedAfterAReopen() throws IOException {
        byte[] flushed;
        try (Overlay overlay = Overlay.open(lower, dir)) {
            write(overlay, 5 * B, B, 7);
            overlay.flush();
            flushed = model.clone();
            write(overlay, 9 * B, B, 8); // never flushed: the kernel was never told it is durable
        }
        model = flushed;
        try (Overlay reopened = Overlay.open(lower, dir)) {
            assertMatchesModel(reopened); // the old content, not zeros or garbage
        }
    }

    @Test
    void aCorruptMap_isAnError_notAnEmptyOverlay() throws IOException {
        try (Overlay overlay = Overlay.open(lower, dir)) {
            write(overlay, 0, B, 1);
            overlay.flush();
        }
        byte[] map = Files.readAllBytes(dir.resolve("overlay.map"));
        map[map.length - 1] ^= 1;
        Files.write(dir.resolve("overlay.map"), map);
        assertThatThrownBy(() -> Overlay.open(lower, dir)).hasMessageContaining("fails its checksum");
        assertThatThrownBy(() -> Overlay.open(new MemoryImage(new byte[2 * SIZE]), dir))
                .hasMessageContaining("another device size");
    }

    @Test
    void concurrentWriters_onDifferentBlocks() throws Exception {
        try (Overlay overlay = Overlay.open(lower, dir); ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                work.add(pool.submit(() -> {
                    Random random = new Random(thread);
                    for (int i = 0; i < 200; i++) {
                        // each thread owns the blocks b with b % 8 == thread; writes are partial or whole
                        int block = (random.nextInt(SIZE / B / 8)) * 8 + thread;
                        int offset = random.nextInt(B / 2);
                        int length = 1 + random.nextInt(B - offset);
                        byte[] data = new byte[length];
                        random.nextBytes(data);
                        overlay.write(ByteBuffer.wrap(data), (long) block * B + offset);
                        synchronized (model) {
                            System.arraycopy(data, 0, model, block * B + offset, length);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get();
            }
            assertMatchesModel(overlay);
        }
    }

    @Test
    void mutations_countWritesTrimsAndZeroes() throws IOException {
        try (Overlay overlay = Overlay.open(lower, dir)) {
            assertThat(overlay.mutations()).isZero();
            write(overlay, 0, 10, 1);
            zero(overlay, B, B, true);
            zero(overlay, 2 * B, B, false);
            overlay.read(ByteBuffer.allocate(10), 0);
            assertThat(overlay.mutations()).isEqualTo(3);
        }
    }
    @Test
    void mutations_countAPartialZeroingOnce() throws IOException {
        try (Overlay overlay = Overlay.open(lower, dir)) {
            zero(overlay, B + 100, 10, false);         // written as zero bytes inside one block
            zero(overlay, 3L * B - 10, 2 * B + 20, false); // a partial head, a whole block, a partial tail
            assertThat(overlay.mutations()).isEqualTo(2);
            assertThat(overlay.mutationsBeyondFirstBlock()).isEqualTo(2);
            assertMatchesModel(overlay);
        }
    }

    @Test
    void writeZeroesWithNoHole_keepsTheBlocksAllocated_asTheOverlaysOwnData() throws IOException {
        try (Overlay overlay = Overlay.open(lower, dir)) {
            overlay.writeZeroes(2L * B, 4L * B, true); // NBD_CMD_FLAG_NO_HOLE: the space must stay provisioned
            Arrays.fill(model, 2 * B, 6 * B, (byte) 0);
            assertMatchesModel(overlay);
            for (long block = 2; block < 6; block++) {
                assertThat(overlay.source(block)).isEqualTo(Overlay.Source.OWN);
            }
            assertThat(overlay.extents(2L * B, 4L * B)).containsExactly(new Extent(4L * B, 0));
            overlay.writeZeroes(6L * B, 2L * B, false); // without the flag: a hole, read as zeros
            assertThat(overlay.source(6)).isEqualTo(Overlay.Source.ZERO);
        }
    }

    @Test
    void locality_ownAndZeroedBlocksAreLocal_theRestIsAsBelow_andWholeBlockWritesNeedNothingBelow()
            throws IOException {
        // MemoryImage says nothing of its is local (as a build whose chunks are not fetched yet)
        try (Overlay overlay = Overlay.open(lower, dir)) {
            write(overlay, 0, 2 * B, 1);          // blocks 0-1 the overlay's own
            zero(overlay, 2L * B, B, true);       // block 2 zeroed
            assertThat(overlay.readsLocally(0, 3L * B)).isTrue();
            assertThat(overlay.readsLocally(B + 10, 100)).isTrue();
            assertThat(overlay.readsLocally(2L * B, B + 1)).as("reaches block 3, below").isFalse();
            assertThat(overlay.readsLocally(5L * B, 10)).isFalse();
            assertThat(overlay.writesLocally(5L * B, 2L * B)).as("whole blocks: nothing to copy up").isTrue();
            assertThat(overlay.writesLocally(5L * B + 1, B)).as("partial blocks copy up from below").isFalse();
            assertThat(overlay.writesLocally(B + 1, 10)).as("a partial write into an own block").isTrue();
        }
        // below a local image, everything is local
        try (FileImage file = FileImage.open(writeFile(dir.resolve("below.img"), base), true);
             Overlay overlay = Overlay.open(file, dir.resolve("over"))) {
            assertThat(overlay.readsLocally(5L * B, 3)).isTrue();
            assertThat(overlay.writesLocally(5L * B + 1, 3)).isTrue();
        }
    }

    @Test
    void transferTo_sendsOwnZeroedAndBelowRuns_asReadWould() throws Exception {
        for (boolean fileBelow : List.of(true, false)) {
            model = base.clone();
            Path at = dir.resolve("transfer-" + fileBelow);
            try (FileImage file = FileImage.open(writeFile(dir.resolve("below-" + fileBelow + ".img"), base), true);
                 Overlay overlay = Overlay.open(fileBelow ? file : lower, at)) {
                write(overlay, 3L * B + 100, 5 * B, 1);     // own blocks, partly copied up
                zero(overlay, 20L * B, 7 * B, true);         // zeroed
                write(overlay, 100L * B, 64 * B, 2);
                assertThat(overlay.transfersDirectly(0, SIZE)).isEqualTo(fileBelow);
                assertThat(SocketCapture.transfer(overlay, 0, SIZE, dir)).isEqualTo(model);
                assertThat(SocketCapture.transfer(overlay, 3L * B + 7, 30 * B, dir))
                        .isEqualTo(Arrays.copyOfRange(model, 3 * B + 7, 33 * B + 7));
            }
        }
    }

    private static Path writeFile(Path file, byte[] content) throws IOException {
        Files.write(file, content);
        return file;
    }

    @Test
    void extents_ownBlocksAreData_zeroedBlocksSparse_andTheRestAsBelow() throws IOException {
        // below: data except a sparse run at blocks 100-109
        BlockImage below = new MemoryImage(base).withSparse(100L * B, 110L * B);
        try (Overlay overlay = Overlay.open(below, dir)) {
            zero(overlay, 10L * B, 5 * B, true);      // blocks 10-14 trimmed
            write(overlay, 104L * B, 2 * B, 1);       // blocks 104-105 written over the hole below
            assertThat(overlay.extents(0, SIZE)).containsExactly(
                    new Extent(10L * B, 0), new Extent(5L * B, Extent.SPARSE), new Extent(85L * B, 0),
                    new Extent(4L * B, Extent.SPARSE), new Extent(2L * B, 0), new Extent(4L * B, Extent.SPARSE),
                    new Extent(SIZE - 110L * B, 0));
        }
    }

    @Test
    void aFlushNeverSavesAMapStateThatNeverExisted() throws Exception {
        // every block is the overlay's from the start; writes and trims flip it between OWN and ZERO. A saved map
        // must never say BELOW: after a crash that would bring back the parent's bytes, neither old nor new content.
        int size = 256 << 20; // a long map, so flushes take long enough to overlap the flips
        int blocks = size / B;
        int flipped = 64 * B;
        try (Overlay overlay = Overlay.open(new MemoryImage(new byte[size]), dir)) {
            overlay.write(ByteBuffer.allocate(flipped), 0);
            OverlayMap saved = new OverlayMap(dir.resolve("overlay.map"), size, B);
            java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
            Thread flipper = Thread.ofPlatform().start(() -> {
                try {
                    ByteBuffer ones = ByteBuffer.allocate(flipped);
                    while (!done.get()) {
                        overlay.trim(0, flipped);
                        overlay.write(ones.clear(), 0);
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try {
                for (int flush = 0; flush < 400; flush++) {
                    overlay.flush();
                    OverlayMap.Saved map = saved.load();
                    AtomicBits owned = new AtomicBits(blocks, map.owned());
                    AtomicBits zeroed = new AtomicBits(blocks, map.zeroed());
                    for (int b = 0; b < flipped / B; b++) {
                        assertThat(owned.get(b) || zeroed.get(b)).as("block %d after flush %d", b, flush).isTrue();
                    }
                }
            } finally {
                done.set(true);
                flipper.join();
            }
        }
    }

    @Test
    void anImageLargerThanAnOverlayCanCover_isRefusedByName_beforeAnythingIsAllocated() {
        // issue 12 D19: a header saying 4 EiB gave "File too large" for a writable mount
        BlockImage huge = new BlockImage() {
            public long size() {
                return 4L << 60;
            }

            public void read(ByteBuffer dst, long offset) {
                throw new AssertionError("not read");
            }

            public void write(ByteBuffer src, long offset) {
                throw new AssertionError("not written");
            }

            public void trim(long offset, long length) {
            }

            public void writeZeroes(long offset, long length, boolean allocate) {
            }

            public void flush() {
            }

            public void close() {
            }
        };
        assertThatThrownBy(() -> Overlay.open(huge, dir.resolve("huge")))
                .isInstanceOf(io.tmount.TmountException.class)
                .hasMessageContaining("a writable overlay covers at most 16.0 TiB")
                .hasMessageContaining("(4611686018427387904 bytes): use it read-only");
        assertThat(dir.resolve("huge")).doesNotExist();
    }
}
