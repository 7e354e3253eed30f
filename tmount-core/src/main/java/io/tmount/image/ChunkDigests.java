package io.tmount.image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The SHA-256 of every block of a build's data (its uncompressed bytes, in blocks of {@code blockSize}, the last one
 * shorter), so each chunk can be checked as it is fetched, long before the whole object has been read (which is all
 * e2b's one SHA-256 per build allows). tmount stores it beside every build it writes, as an object e2b never reads:
 * {@code {build}/rootfs.ext4.sha256}. Format: {@code "TMSHA256"}, u32 version 1, u32 block size, u64 data size, then
 * 32 bytes per block; big-endian.
 */
public record ChunkDigests(int blockSize, long dataSize, byte[] hashes) {

    /** Small enough to divide every chunk size (a power of two of at least 64 KiB) and e2b's 2 MiB frames. */
    public static final int DEFAULT_BLOCK_SIZE = 64 << 10;
    private static final byte[] MAGIC = "TMSHA256".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = MAGIC.length + 4 + 4 + 8;
    private static final int HASH = 32;

    public ChunkDigests {
        if (blockSize < 4096 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("digest block size " + blockSize + " is not a power of two >= 4096");
        }
        if (dataSize < 0 || hashes.length != blocks(dataSize, blockSize) * HASH) {
            throw new IllegalArgumentException("a digest list of " + hashes.length + " bytes does not fit "
                    + dataSize + " bytes in blocks of " + blockSize);
        }
    }

    private static long blocks(long dataSize, int blockSize) {
        return (dataSize + blockSize - 1) / blockSize;
    }

    /** Hashes {@code length} bytes of {@code data} from its start. */
    public static ChunkDigests of(FileChannel data, long length, int blockSize) throws IOException {
        long blocks = blocks(length, blockSize);
        if (blocks * HASH > Integer.MAX_VALUE - HEADER) {
            throw new IOException("too much data to list the digests of: " + length + " bytes");
        }
        byte[] hashes = new byte[(int) (blocks * HASH)];
        ByteBuffer buffer = ByteBuffer.allocateDirect(blockSize);
        MessageDigest sha = sha256();
        for (long b = 0; b < blocks; b++) {
            long start = b * blockSize;
            buffer.clear().limit((int) Math.min(blockSize, length - start));
            while (buffer.hasRemaining()) {
                if (data.read(buffer, start + buffer.position()) < 0) {
                    throw new IOException("data ended at " + (start + buffer.position()) + " of " + length + " bytes");
                }
            }
            sha.update(buffer.flip());
            System.arraycopy(sha.digest(), 0, hashes, (int) (b * HASH), HASH);
        }
        return new ChunkDigests(blockSize, length, hashes);
    }

    public byte[] serialize() {
        ByteBuffer out = ByteBuffer.allocate(HEADER + hashes.length).order(ByteOrder.BIG_ENDIAN);
        out.put(MAGIC).putInt(1).putInt(blockSize).putLong(dataSize).put(hashes);
        return out.array();
    }

    public static ChunkDigests parse(byte[] bytes) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        byte[] magic = new byte[MAGIC.length];
        if (bytes.length < HEADER) {
            throw new IOException("not a tmount digest list (" + bytes.length + " bytes)");
        }
        in.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException("not a tmount digest list");
        }
        int version = in.getInt();
        if (version != 1) {
            throw new IOException("digest list version " + version + " is unknown");
        }
        int blockSize = in.getInt();
        long dataSize = in.getLong();
        byte[] hashes = new byte[in.remaining()];
        in.get(hashes);
        try {
            return new ChunkDigests(blockSize, dataSize, hashes);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Whether chunks of {@code chunkSize} start and end on blocks, so each can be checked alone. */
    public boolean fits(int chunkSize) {
        return chunkSize % blockSize == 0;
    }

    /**
     * The offset of the first block of {@code content} (the bytes at {@code offset}, from its position to its limit,
     * whole blocks or the data's end) that does not match, or -1 when all match. The buffer's position is kept.
     */
    public long mismatch(long offset, ByteBuffer content) {
        if (offset % blockSize != 0) {
            throw new IllegalArgumentException("offset " + offset + " is not on a digest block");
        }
        MessageDigest sha = sha256();
        ByteBuffer view = content.duplicate();
        long position = offset;
        byte[] expected = new byte[HASH];
        while (view.hasRemaining()) {
            int length = (int) Math.min(blockSize, dataSize - position);
            if (length <= 0 || view.remaining() < length) {
                return position; // past the data, or a partial block: nothing to match it against
            }
            ByteBuffer block = view.slice().limit(length);
            sha.update(block);
            System.arraycopy(hashes, (int) (position / blockSize * HASH), expected, 0, HASH);
            if (!MessageDigest.isEqual(sha.digest(), expected)) {
                return position;
            }
            view.position(view.position() + length);
            position += length;
        }
        return -1;
    }

    /** Checks data that arrives in order from offset 0 (as {@code tmount verify} reads it), block by block. */
    public Sequential sequential() {
        return new Sequential();
    }

    /** See {@link #sequential()}. */
    public final class Sequential {

        private final MessageDigest sha = sha256();
        private long position;
        private int inBlock;
        private long bad;
        private long firstBad = -1;

        public void update(ByteBuffer bytes) {
            ByteBuffer view = bytes.duplicate();
            while (view.hasRemaining()) {
                int take = (int) Math.min(view.remaining(), Math.min(blockSize, dataSize - position) - inBlock);
                if (take <= 0) {
                    position += view.remaining(); // past the data: counted as a mismatch at the end
                    inBlock = 0;
                    bad++;
                    firstBad = firstBad < 0 ? dataSize : firstBad;
                    return;
                }
                sha.update(view.slice().limit(take));
                view.position(view.position() + take);
                inBlock += take;
                if (inBlock == Math.min(blockSize, dataSize - position)) {
                    byte[] expected = Arrays.copyOfRange(hashes, (int) (position / blockSize * HASH),
                            (int) (position / blockSize * HASH + HASH));
                    if (!MessageDigest.isEqual(sha.digest(), expected)) {
                        bad++;
                        firstBad = firstBad < 0 ? position : firstBad;
                    }
                    position += inBlock;
                    inBlock = 0;
                }
            }
        }

        /** The blocks that did not match (a data shorter than the list counts its missing blocks). */
        public long mismatches() {
            long missing = position + inBlock < dataSize ? blocks(dataSize, blockSize) - position / blockSize : 0;
            return bad + missing;
        }

        /** The offset of the first block that did not match; -1 if none did. */
        public long firstMismatch() {
            return firstBad >= 0 ? firstBad : mismatches() > 0 ? position : -1;
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
