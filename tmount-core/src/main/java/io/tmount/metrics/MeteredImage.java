package io.tmount.metrics;

import io.tmount.image.BlockImage;
import io.tmount.image.Extent;
import io.tmount.image.LocalAccess;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;

/**
 * Counts what an NBD server asks of its image (one call per NBD command), by command, bytes and result. It passes
 * the image's {@link LocalAccess} through, so the server's fast paths (inline reads, sendfile) stay as they were.
 */
public final class MeteredImage implements BlockImage, LocalAccess {

    private final BlockImage image;
    private final Metrics.NbdCounters reads;
    private final Metrics.NbdCounters writes;
    private final Metrics.NbdCounters trims;
    private final Metrics.NbdCounters zeroes;
    private final Metrics.NbdCounters flushes;
    private final Metrics.NbdCounters status;
    private final Metrics.NbdCounters caches;

    public MeteredImage(BlockImage image, Metrics metrics, String server) {
        this.image = image;
        reads = metrics.nbd(server, "read");
        writes = metrics.nbd(server, "write");
        trims = metrics.nbd(server, "trim");
        zeroes = metrics.nbd(server, "write_zeroes");
        flushes = metrics.nbd(server, "flush");
        status = metrics.nbd(server, "block_status");
        caches = metrics.nbd(server, "cache");
    }

    @Override
    public long size() {
        return image.size();
    }

    @Override
    public void read(ByteBuffer dst, long offset) throws IOException {
        int bytes = dst.remaining();
        run(reads, bytes, () -> image.read(dst, offset));
    }

    @Override
    public void write(ByteBuffer src, long offset) throws IOException {
        int bytes = src.remaining();
        run(writes, bytes, () -> image.write(src, offset));
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        run(trims, length, () -> image.trim(offset, length));
    }

    @Override
    public void writeZeroes(long offset, long length, boolean allocate) throws IOException {
        run(zeroes, length, () -> image.writeZeroes(offset, length, allocate));
    }

    @Override
    public void flush() throws IOException {
        run(flushes, 0, image::flush);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        boolean ok = false;
        try {
            List<Extent> extents = image.extents(offset, length);
            ok = true;
            return extents;
        } finally {
            status.count(ok, 0);
        }
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        run(caches, length, () -> image.cache(offset, length));
    }

    @Override
    public boolean readsLocally(long offset, long length) {
        return LocalAccess.readsLocally(image, offset, length);
    }

    @Override
    public boolean writesLocally(long offset, long length) {
        return image instanceof LocalAccess local && local.writesLocally(offset, length);
    }

    @Override
    public boolean transfersDirectly(long offset, long length) {
        return LocalAccess.transfersDirectly(image, offset, length);
    }

    @Override
    public long transferTo(long offset, int length, WritableByteChannel target) throws IOException {
        boolean ok = false;
        try {
            long waited = LocalAccess.transfer(image, offset, length, target);
            ok = true;
            return waited;
        } finally {
            reads.count(ok, length);
        }
    }

    @Override
    public void close() throws IOException {
        image.close();
    }

    private interface Call {
        void run() throws IOException;
    }

    private static void run(Metrics.NbdCounters counters, long bytes, Call call) throws IOException {
        boolean ok = false;
        try {
            call.run();
            ok = true;
        } finally {
            counters.count(ok, bytes);
        }
    }
}
