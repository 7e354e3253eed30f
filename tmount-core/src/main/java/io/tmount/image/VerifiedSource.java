package io.tmount.image;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A chunk source whose bytes are checked against the build's {@link ChunkDigests} before anyone sees them: a block
 * that does not match is read once more (a transfer that went wrong), and then fails the read, so a damaged object
 * is an I/O error for the reader and never reaches the cache.
 */
final class VerifiedSource implements ChunkSource {

    private static final Logger log = LoggerFactory.getLogger(VerifiedSource.class);

    private final ChunkSource source;
    private final ChunkDigests digests;

    VerifiedSource(ChunkSource source, ChunkDigests digests) {
        if (digests.dataSize() != source.size()) {
            throw new IllegalArgumentException("the digest list covers " + digests.dataSize() + " bytes, the object "
                    + source.name() + " has " + source.size());
        }
        this.source = source;
        this.digests = digests;
    }

    ChunkDigests digests() {
        return digests;
    }

    ChunkSource unverified() {
        return source;
    }

    @Override
    public String name() {
        return source.name();
    }

    @Override
    public long size() {
        return source.size();
    }

    @Override
    public String identity() {
        return source.identity();
    }

    @Override
    public boolean covers(long offset, long length) {
        return source.covers(offset, length);
    }

    @Override
    public boolean extents(long offset, long length, Extents out) throws IOException {
        return source.extents(offset, length, out);
    }

    @Override
    public void close() {
        source.close();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        int block = digests.blockSize();
        long end = offset + dst.remaining();
        long first = offset / block * block;
        long last = Math.min(size(), (end + block - 1) / block * block);
        if (first == offset && last == end) {
            readChecked(offset, dst);
            return;
        }
        // not on block bounds: read the blocks around it, check them, hand out the part asked for
        ByteBuffer whole = ByteBuffer.allocate((int) (last - first));
        readChecked(first, whole);
        dst.put(whole.flip().position((int) (offset - first)).limit((int) (end - first)));
    }

    private void readChecked(long offset, ByteBuffer dst) throws IOException {
        int start = dst.position();
        for (int attempt = 1; ; attempt++) {
            source.read(offset, dst);
            long bad = digests.mismatch(offset, dst.duplicate().position(start).limit(dst.position()));
            if (bad < 0) {
                return;
            }
            log.error("block at offset {} of {} does not match its SHA-256 (read {} of 2)", bad, name(), attempt);
            if (attempt == 2) {
                throw new IOException("the block at offset " + bad + " of " + name() + " does not match its SHA-256 "
                        + "twice: the stored object is damaged (see `tmount verify`)");
            }
            dst.position(start);
        }
    }
}
