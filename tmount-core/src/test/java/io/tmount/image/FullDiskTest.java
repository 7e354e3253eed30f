package io.tmount.image;

import io.tmount.store.StoreLocation;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 12 D12: with the state dir's disk full, the chunk cache gives way to overlays (what it holds can be fetched
 * again; an overlay's writes cannot), and a cache that cannot grow says so instead of blaming the store. A real small
 * ext4 filesystem, mounted for the test.
 */
@ExtendWith(NoLeftovers.class)
class FullDiskTest {

    private static final int MIB = 1 << 20;
    private static final String KEY = "b1/rootfs.ext4";

    @TempDir
    Path dir;

    private Path small;
    private CountingStore store;
    private byte[] object;

    @BeforeEach
    void smallDisk() throws IOException {
        Path image = dir.resolve("small.img");
        Run.ok("truncate", "-s", "48M", image.toString());
        // no reserved blocks: the test runs as root, which may write into them
        Run.ok("mkfs.ext4", "-q", "-m", "0", image.toString());
        small = Files.createDirectories(dir.resolve("small"));
        Run.ok("mount", "-o", "loop", image.toString(), small.toString());
        store = new CountingStore(new StoreLocation.Local(dir.resolve("store")).open());
        object = new byte[24 * MIB];
        new Random(7).nextBytes(object);
        store.put(KEY, object);
    }

    @AfterEach
    void unmount() throws IOException {
        store.close();
        Run.ok("umount", small.toString());
    }

    @Test
    void anOverlayOnAFullDisk_takesTheCachesRoom_andAFullCacheNamesTheDisk() throws IOException {
        CacheBudget budget = new CacheBudget(1L << 30); // far above the disk: only the disk limits
        try (ChunkCache cache = ChunkCache.open(store, KEY, store.info(KEY), MIB, small.resolve("cache"), budget);
             Overlay overlay = Overlay.open(new MemoryImage(new byte[32 * MIB]), small.resolve("overlay"),
                     budget::reclaim)) {
            read(cache, 0, object.length);
            assertThat(budget.usedBytes()).isEqualTo(object.length);

            // ~42 MiB of room: 24 are the cache's, so 30 MiB of writes need some of them
            byte[] written = new byte[30 * MIB];
            new Random(8).nextBytes(written);
            for (int off = 0; off < written.length; off += MIB) {
                overlay.write(ByteBuffer.wrap(written, off, MIB), off);
            }
            overlay.flush();
            assertThat(budget.usedBytes()).isLessThan(object.length);
            ByteBuffer back = ByteBuffer.allocate(written.length);
            overlay.read(back, 0);
            assertThat(back.array()).isEqualTo(written);

            // fill what is left: the cache has nothing left to give, and says the disk is full, not the store
            fill(small.resolve("filler"));
            budget.reclaim(Long.MAX_VALUE);
            assertThatThrownBy(() -> read(cache, 0, MIB))
                    .hasMessageContaining("the chunk cache's disk is full")
                    .hasMessageContaining("No space left on device")
                    .hasMessageNotContaining("store");
            assertThatThrownBy(() -> overlay.write(ByteBuffer.wrap(new byte[MIB]), 30L * MIB))
                    .hasMessageContaining("the state dir's disk is full")
                    .hasMessageContaining("no cached chunk was left to evict");

            // space back: both work again
            Files.delete(small.resolve("filler"));
            assertThat(read(cache, 0, MIB)).isEqualTo(Arrays.copyOfRange(object, 0, MIB));
            overlay.write(ByteBuffer.wrap(new byte[MIB]), 30L * MIB);
        }
    }

    private static byte[] read(ChunkCache cache, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        cache.read(buffer, offset, null);
        return buffer.array();
    }

    private static void fill(Path file) throws IOException {
        byte[] block = new byte[4096];
        try (OutputStream out = Files.newOutputStream(file)) {
            while (true) {
                out.write(block);
            }
        } catch (IOException full) {
            assertThat(full).hasMessageContaining("No space left on device");
        }
    }
}
