package io.tmount.image;

import io.tmount.os.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.CRC32C;

/**
 * The saved block map of an overlay: which blocks are the overlay's own and which read as zeros. Replaced
 * atomically (write, sync, rename, sync the folder) and checked with a CRC.
 */
final class OverlayMap {

    private static final int MAGIC = 0x544d4f56; // "TMOV"
    private static final int VERSION = 1;
    private static final int HEADER_BYTES = 4 + 4 + 8 + 4 + 4 + 4;

    /** The two bit sets, as words. */
    record Saved(long[] owned, long[] zeroed) {
    }

    private final Path file;
    private final long deviceSize;
    private final int blockSize;

    OverlayMap(Path file, long deviceSize, int blockSize) {
        this.file = file;
        this.deviceSize = deviceSize;
        this.blockSize = blockSize;
    }

    Path file() {
        return file;
    }

    /** The saved map, or null when none was saved; an unreadable one is an error, never an empty overlay. */
    Saved load() throws IOException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return null;
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        if (bytes.length < HEADER_BYTES || in.getInt() != MAGIC || in.getInt() != VERSION) {
            throw new IOException("overlay map " + file + " is not a tmount overlay map");
        }
        if (in.getLong() != deviceSize || in.getInt() != blockSize) {
            throw new IOException("overlay map " + file + " was made for another device size or block size");
        }
        int words = in.getInt();
        int crc = in.getInt();
        if (in.remaining() != words * 16L) {
            throw new IOException("overlay map " + file + " is truncated");
        }
        CRC32C check = new CRC32C();
        check.update(in.duplicate());
        if ((int) check.getValue() != crc) {
            throw new IOException("overlay map " + file + " fails its checksum");
        }
        long[] owned = new long[words];
        long[] zeroed = new long[words];
        in.asLongBuffer().get(owned).get(zeroed);
        return new Saved(owned, zeroed);
    }

    void save(long[] owned, long[] zeroed) throws IOException {
        ByteBuffer bits = ByteBuffer.allocate(owned.length * 16);
        bits.asLongBuffer().put(owned).put(zeroed);
        CRC32C crc = new CRC32C();
        crc.update(bits.duplicate());
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        header.putInt(MAGIC).putInt(VERSION).putLong(deviceSize).putInt(blockSize).putInt(owned.length)
                .putInt((int) crc.getValue()).flip();
        AtomicFiles.replace(file, header, bits);
    }
}
