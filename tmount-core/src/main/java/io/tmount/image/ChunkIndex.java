package io.tmount.image;

import io.tmount.os.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.zip.CRC32C;

/**
 * The saved list of a chunk cache's present chunks: a small file replaced atomically (write, sync, rename) and
 * checked with a CRC, tied to the object it was made for (store URL, key and version: another store, or a build
 * recreated under the same id, never inherits its chunks) and to the object and chunk sizes.
 */
final class ChunkIndex {

    private static final int MAGIC = 0x544d4349; // "TMCI"
    private static final int VERSION = 2;
    private static final int HEADER_BYTES = 4 + 4 + 8 + 4 + 4 + 4;

    private final Path file;
    private final long objectSize;
    private final int chunkSize;
    private final byte[] identity;

    ChunkIndex(Path file, long objectSize, int chunkSize, String identity) {
        this.file = file;
        this.objectSize = objectSize;
        this.chunkSize = chunkSize;
        this.identity = identity.getBytes(StandardCharsets.UTF_8);
    }

    /** The saved present chunks, or null when there is no usable index (absent, corrupt, or for other sizes). */
    BitSet load() throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        if (bytes.length < HEADER_BYTES) {
            return null;
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        if (in.getInt() != MAGIC || in.getInt() != VERSION || in.getLong() != objectSize || in.getInt() != chunkSize) {
            return null;
        }
        int identityLength = in.getInt();
        if (identityLength != identity.length || in.remaining() < identityLength + 4) {
            return null;
        }
        byte[] savedIdentity = new byte[identityLength];
        in.get(savedIdentity);
        if (!Arrays.equals(savedIdentity, identity)) {
            return null;
        }
        int crc = in.getInt();
        byte[] bits = new byte[in.remaining()];
        in.get(bits);
        CRC32C check = new CRC32C();
        check.update(bits);
        return (int) check.getValue() == crc ? BitSet.valueOf(bits) : null;
    }

    void save(BitSet present) throws IOException {
        byte[] bits = present.toByteArray();
        CRC32C crc = new CRC32C();
        crc.update(bits);
        ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + identity.length + bits.length);
        out.putInt(MAGIC).putInt(VERSION).putLong(objectSize).putInt(chunkSize).putInt(identity.length).put(identity)
                .putInt((int) crc.getValue()).put(bits).flip();
        AtomicFiles.replace(file, out);
    }

    void delete() throws IOException {
        Files.deleteIfExists(file);
    }
}
