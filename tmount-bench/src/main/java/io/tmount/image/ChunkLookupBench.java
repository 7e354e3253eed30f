package io.tmount.image;

import io.tmount.header.BuildMapping;
import io.tmount.store.ObjectStore;
import io.tmount.store.StoreLocation;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A 4 KiB read of a layered build whose chunks are all cached: finding the mapping (256 of them), pinning and
 * checking the chunk, and the positional read from the (page-cached) cache file.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ChunkLookupBench {

    private static final int SIZE = 64 << 20;
    private static final int MAPPINGS = 256;

    private Path dir;
    private ObjectStore store;
    private ChunkCache cache;
    private LayeredImage image;
    private final ByteBuffer block = ByteBuffer.allocateDirect(4096);
    private long[] offsets;
    private int next;

    @Setup(Level.Trial)
    public void cachedBuild() throws IOException {
        dir = Files.createTempDirectory("tmount-bench-chunks");
        store = new StoreLocation.Local(dir.resolve("store")).open();
        byte[] object = new byte[SIZE];
        new Random(1).nextBytes(object);
        store.put("b/rootfs.ext4", object);
        cache = ChunkCache.open(store, "b/rootfs.ext4", store.info("b/rootfs.ext4"), 1 << 20, dir.resolve("cache"),
                new CacheBudget(1L << 30));
        // the object's pieces mapped in reverse order, so lookups cannot ride on one mapping
        List<LayeredImage.Segment> segments = new ArrayList<>();
        long piece = SIZE / MAPPINGS;
        UUID build = UUID.randomUUID();
        for (int i = 0; i < MAPPINGS; i++) {
            segments.add(new LayeredImage.Segment(new BuildMapping(i * piece, piece, build, SIZE - (i + 1) * piece), cache));
        }
        image = new LayeredImage(SIZE, segments);
        image.cache(0, SIZE);
        Random random = new Random(2);
        offsets = new long[4096];
        for (int i = 0; i < offsets.length; i++) {
            offsets[i] = (long) random.nextInt(SIZE / 4096) * 4096;
        }
    }

    @Benchmark
    public ByteBuffer read4kCached() throws IOException {
        block.clear();
        image.read(block, offsets[next++ & (offsets.length - 1)]);
        return block;
    }

    @TearDown(Level.Trial)
    public void remove() throws IOException {
        cache.close();
        store.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
