package io.tmount.image;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.BitSet;

/**
 * The chunks a cache kept from an earlier run, checked against the build's digests the first time this run reads
 * each: bytes that rotted on the cache's disk are fetched again from the store instead of being served. Chunks fetched
 * in this run were checked on their way in.
 */
final class InheritedChunks {

    private static final Logger log = LoggerFactory.getLogger(InheritedChunks.class);
    private static final int STRIPES = 64;

    private final VerifiedSource source;
    private final FileChannel data;
    private final int chunkSize;
    private final BitSet unchecked; // guarded by itself
    private final Object[] locks = new Object[STRIPES];

    InheritedChunks(VerifiedSource source, FileChannel data, int chunkSize, BitSet listed) {
        this.source = source;
        this.data = data;
        this.chunkSize = chunkSize;
        this.unchecked = (BitSet) listed.clone();
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new Object();
        }
    }

    private boolean unchecked(int chunk) {
        synchronized (unchecked) {
            return unchecked.get(chunk);
        }
    }

    /** Makes sure a present chunk the caller has pinned holds what the digests say before it is read. */
    void check(int chunk) throws IOException {
        if (!unchecked(chunk)) {
            return;
        }
        synchronized (locks[chunk % STRIPES]) {
            if (!unchecked(chunk)) {
                return; // another reader checked it meanwhile
            }
            long start = (long) chunk * chunkSize;
            ByteBuffer bytes = ByteBuffer.allocate((int) Math.min(chunkSize, source.size() - start));
            while (bytes.hasRemaining()) {
                if (data.read(bytes, start + bytes.position()) < 0) {
                    break; // shorter than it should be: the check below fails it
                }
            }
            long bad = source.digests().mismatch(start, bytes.flip());
            if (bad >= 0) {
                log.error("chunk {} of {} in the cache does not match its SHA-256 at offset {} (damaged on the cache's "
                        + "disk); fetching it again", chunk, source.name(), bad);
                bytes.clear();
                source.read(start, bytes); // checked: a damaged store fails here, and the reader gets an I/O error
                bytes.flip();
                while (bytes.hasRemaining()) {
                    data.write(bytes, start + bytes.position());
                }
            }
            synchronized (unchecked) {
                unchecked.clear(chunk);
            }
        }
    }
}
