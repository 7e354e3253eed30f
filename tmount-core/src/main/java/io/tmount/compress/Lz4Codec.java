package io.tmount.compress;

import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import net.jpountz.xxhash.XXHash32;
import net.jpountz.xxhash.XXHashFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The LZ4 frame format (lz4.org's lz4_Frame_format.md) over lz4-java's block codec, written here so that every
 * length is checked against the room the caller gave before a byte is produced: a frame can never decode to more
 * than the caller expects (the header block's anti-bomb cap, a data frame's table size).
 *
 * <p>Reading accepts what e2b's encoder (pierrec/lz4) and the {@code lz4} command write: independent blocks of up to
 * 4 MiB, with or without block and content checksums and content size, one or more frames in a row, and skippable
 * frames. Linked blocks and dictionaries are refused (neither writer makes them). Writing makes what e2b makes:
 * 4 MiB independent blocks with block checksums, and a content checksum when asked (the header block has one, data
 * frames do not).
 */
public final class Lz4Codec implements FrameCodec {

    static final int MAGIC = 0x184D2204;
    private static final int SKIPPABLE_MASK = 0xFFFFFFF0;
    private static final int SKIPPABLE = 0x184D2A50;
    private static final int MAX_BLOCK = 4 << 20;
    private static final int FLG_VERSION = 0x40;
    private static final int FLG_INDEPENDENT = 0x20;
    private static final int FLG_BLOCK_CHECKSUM = 0x10;
    private static final int FLG_CONTENT_SIZE = 0x08;
    private static final int FLG_CONTENT_CHECKSUM = 0x04;
    private static final int FLG_DICT_ID = 0x01;
    private static final int BD_4MB = 7 << 4;
    private static final int UNCOMPRESSED_BIT = 0x80000000;

    /*
     * lz4-java's native library is built for x86-64 CPUs with AVX2 and uses it unconditionally: on a CPU without it
     * (QEMU's default model in the VM test) its first call dies with SIGILL and takes the JVM, and every mount, with
     * it. There, the pure-Java implementation (without sun.misc.Unsafe) does the work instead.
     */
    private static final boolean NATIVE = CpuFeatures.runsX86Avx2Code();
    private static final LZ4Factory LZ4 = NATIVE ? LZ4Factory.fastestInstance() : LZ4Factory.safeInstance();
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4.safeDecompressor();
    private static final LZ4Compressor COMPRESSOR = LZ4.fastCompressor();
    private static final XXHash32 XXH32 = (NATIVE ? XXHashFactory.fastestInstance() : XXHashFactory.safeInstance()).hash32();

    private final boolean contentChecksum;

    /** {@code contentChecksum}: whether frames this writes carry a checksum of their whole content. */
    public Lz4Codec(boolean contentChecksum) {
        this.contentChecksum = contentChecksum;
    }

    @Override
    public Compression compression() {
        return Compression.LZ4;
    }

    @Override
    public void decode(ByteBuffer src, ByteBuffer dst, int expected) throws IOException {
        ByteBuffer room = dst.duplicate();
        room.limit(room.position() + expected);
        int n = decodeAll(src, room);
        if (n != expected) {
            throw new IOException("LZ4 frame decodes to " + n + " bytes, its table says " + expected);
        }
        dst.position(dst.position() + n);
    }

    /**
     * Decodes every frame in {@code src} into {@code dst}, at most {@code dst.remaining()} bytes: more is an error.
     * Returns the bytes produced.
     */
    public static int decodeAll(ByteBuffer src, ByteBuffer dst) throws IOException {
        ByteBuffer in = src.slice().order(ByteOrder.LITTLE_ENDIAN);
        int start = dst.position();
        if (!in.hasRemaining()) {
            throw new IOException("LZ4 data is empty");
        }
        while (in.hasRemaining()) {
            int magic = int32(in, "a frame's magic number");
            if ((magic & SKIPPABLE_MASK) == SKIPPABLE) {
                skip(in, int32(in, "a skippable frame's size") & 0xFFFFFFFFL);
            } else if (magic == MAGIC) {
                decodeFrame(in, dst);
            } else {
                throw new IOException(String.format("not an LZ4 frame (magic number 0x%08x)", magic));
            }
        }
        src.position(src.limit());
        return dst.position() - start;
    }

    private static void decodeFrame(ByteBuffer in, ByteBuffer dst) throws IOException {
        int descriptorStart = in.position();
        int flg = byte8(in, "the frame descriptor");
        int bd = byte8(in, "the frame descriptor");
        if ((flg & 0xC0) != FLG_VERSION || (flg & 0x02) != 0 || (bd & 0x8F) != 0) {
            throw new IOException(String.format("LZ4 frame has an unknown descriptor (FLG 0x%02x, BD 0x%02x)", flg, bd));
        }
        int maxBlock = switch (bd >> 4) {
            case 4 -> 64 << 10;
            case 5 -> 256 << 10;
            case 6 -> 1 << 20;
            case 7 -> 4 << 20;
            default -> throw new IOException("LZ4 frame has an unknown block size code " + (bd >> 4));
        };
        long contentSize = -1;
        if ((flg & FLG_CONTENT_SIZE) != 0) {
            contentSize = int64(in, "the frame's content size");
        }
        if ((flg & FLG_DICT_ID) != 0) {
            throw new IOException("LZ4 frame needs a dictionary, which tmount does not have");
        }
        int descriptorEnd = in.position();
        int hc = byte8(in, "the frame descriptor's checksum");
        int expectedHc = (XXH32.hash(in, descriptorStart, descriptorEnd - descriptorStart, 0) >> 8) & 0xFF;
        if (hc != expectedHc) {
            throw new IOException("LZ4 frame descriptor fails its checksum");
        }
        if ((flg & FLG_INDEPENDENT) == 0) {
            throw new IOException("LZ4 frame has linked blocks, which tmount does not read");
        }
        boolean blockChecksum = (flg & FLG_BLOCK_CHECKSUM) != 0;
        int contentStart = dst.position();
        while (true) {
            int header = int32(in, "a block size");
            if (header == 0) {
                break;
            }
            boolean stored = (header & UNCOMPRESSED_BIT) != 0;
            int length = header & ~UNCOMPRESSED_BIT;
            if (length > maxBlock || length > in.remaining()) {
                throw new IOException("LZ4 block of " + length + " bytes is larger than the frame's maximum ("
                        + maxBlock + ") or the data left (" + in.remaining() + ")");
            }
            int blockStart = in.position();
            if (blockChecksum) {
                if (in.remaining() < length + 4) {
                    throw new IOException("LZ4 frame is truncated inside a block checksum");
                }
                int sum = in.getInt(blockStart + length);
                if (sum != XXH32.hash(in, blockStart, length, 0)) {
                    throw new IOException("LZ4 block fails its checksum");
                }
            }
            int room = Math.min(maxBlock, dst.remaining());
            if (stored) {
                if (length > dst.remaining()) {
                    throw new IOException("LZ4 data decodes to more bytes than expected");
                }
                dst.put(dst.position(), in, blockStart, length);
                dst.position(dst.position() + length);
            } else {
                try {
                    int n = DECOMPRESSOR.decompress(in, blockStart, length, dst, dst.position(), room);
                    dst.position(dst.position() + n);
                } catch (LZ4Exception e) {
                    throw new IOException("LZ4 block does not decode (corrupt, or more bytes than expected)", e);
                }
            }
            in.position(blockStart + length + (blockChecksum ? 4 : 0));
        }
        int produced = dst.position() - contentStart;
        if ((flg & FLG_CONTENT_CHECKSUM) != 0) {
            int sum = int32(in, "the content checksum");
            if (sum != XXH32.hash(dst, contentStart, produced, 0)) {
                throw new IOException("LZ4 frame fails its content checksum");
            }
        }
        if (contentSize >= 0 && contentSize != produced) {
            throw new IOException("LZ4 frame decodes to " + produced + " bytes, its descriptor says " + contentSize);
        }
    }

    @Override
    public int maxEncodedLength(int length) {
        int blocks = Math.max(1, (length + MAX_BLOCK - 1) / MAX_BLOCK);
        // magic, FLG, BD, HC; per block a size and a checksum; end mark; content checksum
        return 7 + blocks * 8 + COMPRESSOR.maxCompressedLength(length) + blocks * 16 + 8;
    }

    @Override
    public void encode(ByteBuffer src, ByteBuffer dst) throws IOException {
        ByteBuffer out = dst.slice().order(ByteOrder.LITTLE_ENDIAN);
        int contentStart = src.position();
        int contentLength = src.remaining();
        int flg = FLG_VERSION | FLG_INDEPENDENT | FLG_BLOCK_CHECKSUM | (contentChecksum ? FLG_CONTENT_CHECKSUM : 0);
        out.putInt(MAGIC).put((byte) flg).put((byte) BD_4MB);
        out.put((byte) ((XXH32.hash(out, 4, 2, 0) >> 8) & 0xFF));
        while (src.hasRemaining()) {
            int length = Math.min(MAX_BLOCK, src.remaining());
            int sizeAt = out.position();
            int dataAt = sizeAt + 4;
            int n = COMPRESSOR.compress(src, src.position(), length, out, dataAt, out.capacity() - dataAt);
            int header = n;
            if (n >= length) { // incompressible: stored as is, as the format allows
                out.put(dataAt, src, src.position(), length);
                n = length;
                header = length | UNCOMPRESSED_BIT;
            }
            out.putInt(sizeAt, header);
            out.position(dataAt + n);
            out.putInt(XXH32.hash(out, dataAt, n, 0));
            src.position(src.position() + length);
        }
        out.putInt(0);
        if (contentChecksum) {
            out.putInt(XXH32.hash(src, contentStart, contentLength, 0));
        }
        dst.position(dst.position() + out.position());
    }

    private static int int32(ByteBuffer in, String what) throws IOException {
        if (in.remaining() < 4) {
            throw new IOException("LZ4 data is truncated in " + what);
        }
        return in.getInt();
    }

    private static long int64(ByteBuffer in, String what) throws IOException {
        if (in.remaining() < 8) {
            throw new IOException("LZ4 data is truncated in " + what);
        }
        return in.getLong();
    }

    private static int byte8(ByteBuffer in, String what) throws IOException {
        if (!in.hasRemaining()) {
            throw new IOException("LZ4 data is truncated in " + what);
        }
        return in.get() & 0xFF;
    }

    private static void skip(ByteBuffer in, long n) throws IOException {
        if (n > in.remaining()) {
            throw new IOException("LZ4 skippable frame is truncated");
        }
        in.position(in.position() + (int) n);
    }
}
