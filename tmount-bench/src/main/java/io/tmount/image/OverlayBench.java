package io.tmount.image;

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
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * The overlay's block map on the hot paths: which layer a block comes from, a 4 KiB read of a mix of own and lower
 * blocks, and a 4 KiB write claiming a block (data to the page-cached overlay file, then the map bits).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class OverlayBench {

    private static final int SIZE = 256 << 20;

    private Path dir;
    private Overlay overlay;
    private final ByteBuffer block = ByteBuffer.allocateDirect(4096);
    private long[] blocks;
    private int next;

    /** A lower image that is all zeros and costs nothing to read: the overlay's own work is what is measured. */
    private static final class ZeroImage implements BlockImage {
        @Override
        public long size() {
            return SIZE;
        }

        @Override
        public void read(ByteBuffer dst, long offset) {
            dst.position(dst.limit());
        }

        @Override
        public void write(ByteBuffer src, long offset) throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public void trim(long offset, long length) throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public void writeZeroes(long offset, long length, boolean allocate) throws IOException {
            throw new IOException("read-only");
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    @Setup(Level.Trial)
    public void halfWritten() throws IOException {
        dir = Files.createTempDirectory("tmount-bench-overlay");
        overlay = Overlay.open(new ZeroImage(), dir);
        Random random = new Random(3);
        ByteBuffer data = ByteBuffer.allocateDirect(4096);
        for (long b = 0; b < SIZE / 4096; b += 2) { // every other block is the overlay's own
            data.clear();
            overlay.write(data, b * 4096);
        }
        blocks = new long[4096];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = random.nextInt(SIZE / 4096);
        }
    }

    @Benchmark
    public Overlay.Source sourceOfABlock() {
        return overlay.source(blocks[next++ & (blocks.length - 1)]);
    }

    @Benchmark
    public ByteBuffer read4k() throws IOException {
        block.clear();
        overlay.read(block, blocks[next++ & (blocks.length - 1)] * 4096);
        return block;
    }

    @Benchmark
    public ByteBuffer write4k() throws IOException {
        block.clear();
        overlay.write(block, blocks[next++ & (blocks.length - 1)] * 4096);
        return block;
    }

    @TearDown(Level.Trial)
    public void remove() throws IOException {
        overlay.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
