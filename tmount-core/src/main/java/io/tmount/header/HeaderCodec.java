package io.tmount.header;

import io.tmount.TmountException;
import io.tmount.compress.Lz4Codec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Reads and writes e2b's header format in every version. All integers are little-endian, UUIDs 16 raw bytes in
 * RFC 4122 order; a header starts with 64 bytes of metadata (version, block size, device size, generation, build
 * and base build UUID). Versions 1 to 3 follow with 40-byte mappings to the end of the file. Versions 4 and 5 follow
 * with a flags byte, the {@code u32} size of a block and the block as an LZ4 frame; the block holds the Builds
 * section and the mappings (version 4: a count and 40-byte mappings; version 5: columnar, see
 * {@link ColumnarMappings}).
 *
 * <p>Reading checks everything a wrong byte could come from later, with e2b's limits against headers that would
 * make a reader allocate without bound, and each problem is an error naming the header and what is wrong with it.
 */
public final class HeaderCodec {

    static final int METADATA_BYTES = 64;
    static final int MAPPING_BYTES = 40;
    /** e2b's cap on the uncompressed block of a version 4 or 5 header. */
    public static final int MAX_BLOCK_BYTES = 256 << 20;
    /** The most mappings tmount reads in any version (e2b's cap for version 5). */
    public static final int MAX_MAPPINGS = ColumnarMappings.MAX_ENTRIES;
    /** The largest header object worth fetching: a version 1-3 header of {@link #MAX_MAPPINGS} mappings. */
    public static final long MAX_HEADER_BYTES = METADATA_BYTES + (long) MAPPING_BYTES * MAX_MAPPINGS;
    /** LZ4 makes at most about 255 bytes of one; a size prefix claiming more than that is a lie. */
    private static final int LZ4_MAX_RATIO = 255;
    private static final int FLAG_INCOMPLETE = 1;

    private HeaderCodec() {
    }

    public static byte[] write(Header header) {
        String what = "the header of build " + header.buildId();
        int format = header.format();
        if (format < Header.OLDEST || format > Header.NEWEST) {
            throw invalid(what, "cannot be written with unknown version %d", format);
        }
        LeWriter out = new LeWriter(METADATA_BYTES + MAPPING_BYTES * header.mappings().size());
        out.u64(header.version()).u64(header.blockSize()).u64(header.size()).u64(header.generation())
                .uuid(header.buildId()).uuid(header.baseBuildId());
        if (format <= 3) {
            writeMappings(out, header.mappings());
            return out.toArray();
        }
        LeWriter block = new LeWriter(MAPPING_BYTES * header.mappings().size() + 1024);
        BuildsSection.write(block, header.builds(), header.mappings());
        if (format == 4) {
            block.u32(header.mappings().size());
            writeMappings(block, header.mappings());
        } else {
            ColumnarMappings.write(block, header.mappings(), what);
        }
        if (block.size() > MAX_BLOCK_BYTES) {
            // e2b refuses to store such a header too: every later read of it would fail
            throw invalid(what, "would have a block of %d bytes; e2b reads at most %d", block.size(), MAX_BLOCK_BYTES);
        }
        ByteBuffer raw = ByteBuffer.wrap(block.toArray());
        Lz4Codec lz4 = new Lz4Codec(true);
        ByteBuffer compressed = ByteBuffer.allocate(lz4.maxEncodedLength(raw.remaining()));
        try {
            lz4.encode(raw, compressed);
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot compress %s", what);
        }
        out.u8(0).u32(block.size()).bytes(compressed.flip());
        return out.toArray();
    }

    private static void writeMappings(LeWriter out, List<BuildMapping> mappings) {
        for (BuildMapping m : mappings) {
            out.u64(m.offset()).u64(m.length()).uuid(m.buildId()).u64(m.storageOffset());
        }
    }

    /** Parses and validates; {@code what} names the header in errors (e.g. "the header of build X"). */
    public static Header read(byte[] bytes, String what) {
        if (bytes.length < METADATA_BYTES) {
            throw invalid(what, "is truncated: %d bytes, the metadata alone takes %d", bytes.length, METADATA_BYTES);
        }
        LeReader in = new LeReader(ByteBuffer.wrap(bytes), what);
        long version = in.u64("the version");
        int format = Header.format(version);
        if (format < Header.OLDEST || format > Header.NEWEST) {
            throw invalid(what, "has unknown version %d (e2b defines versions 1 to 5)", format);
        }
        long blockSize = in.u64("the block size");
        long size = in.u64("the device size");
        long generation = in.u64("the generation");
        UUID buildId = in.uuid("the build id");
        UUID baseBuildId = in.uuid("the base build id");
        if (blockSize <= 0 || Long.bitCount(blockSize) != 1) {
            throw invalid(what, "has block size %d; it must be a power of two", blockSize);
        }
        if (size <= 0) {
            throw invalid(what, "has device size %d", size);
        }
        Map<UUID, UUID> uuids = new HashMap<>();
        List<BuildMapping> mappings;
        Map<UUID, BuildData> builds = Map.of();
        if (format <= 3) {
            int tail = bytes.length - METADATA_BYTES;
            if (tail % MAPPING_BYTES != 0) {
                throw invalid(what, "is truncated: %d bytes after the metadata are not whole %d-byte mappings",
                        tail, MAPPING_BYTES);
            }
            if (tail / MAPPING_BYTES > MAX_MAPPINGS) {
                throw invalid(what, "has %d mappings; tmount reads at most %d", tail / MAPPING_BYTES, MAX_MAPPINGS);
            }
            mappings = readMappings(in, tail / MAPPING_BYTES, uuids);
        } else {
            LeReader block = block(in, format, what);
            builds = BuildsSection.read(block);
            if (format == 4) {
                long count = block.u32("the mapping count");
                if (count > block.remaining() / MAPPING_BYTES) {
                    throw invalid(what, "has a mapping count of %d, more than its %d remaining bytes hold", count,
                            block.remaining());
                }
                mappings = readMappings(block, (int) count, uuids);
            } else {
                mappings = ColumnarMappings.read(block, size);
            }
        }
        mappings = MappingRules.check(format, size, mappings, what);
        return new Header(version, blockSize, size, generation, buildId, baseBuildId, mappings, builds);
    }

    /** The block of a version 4 or 5 header: flags, size prefix, one LZ4 frame of exactly that many bytes. */
    private static LeReader block(LeReader in, int format, String what) {
        int flags = in.u8("the flags");
        if ((flags & FLAG_INCOMPLETE) != 0) {
            // e2b never stores such a header; one that got into a store anyway reads as e2b reads it
            org.slf4j.LoggerFactory.getLogger(HeaderCodec.class)
                    .warn("{} is marked as an upload still in flight; reading it as it is", what);
        }
        long size = in.u32("the block size prefix");
        if (size > MAX_BLOCK_BYTES) {
            throw invalid(what, "has a version %d block of %d bytes; e2b reads at most %d", format, size, MAX_BLOCK_BYTES);
        }
        ByteBuffer compressed = in.rest();
        if (size > (long) compressed.remaining() * LZ4_MAX_RATIO + 65536) {
            throw invalid(what, "claims a block of %d bytes, more than LZ4 can make of its %d compressed bytes",
                    size, compressed.remaining());
        }
        ByteBuffer plain = ByteBuffer.allocate((int) size);
        int n;
        try {
            n = Lz4Codec.decodeAll(compressed, plain);
        } catch (IOException e) {
            throw invalid(what, "has a block that does not decode: %s", e.getMessage());
        }
        if (n != size) {
            throw invalid(what, "has a block of %d bytes, but its size prefix says %d", n, size);
        }
        return new LeReader(plain.flip(), what);
    }

    /** Reads 40-byte mappings; {@code uuids} keeps one UUID object per build, so large headers stay small. */
    private static List<BuildMapping> readMappings(LeReader in, int count, Map<UUID, UUID> uuids) {
        List<BuildMapping> mappings = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long offset = in.u64("a mapping");
            long length = in.u64("a mapping");
            UUID build = uuids.computeIfAbsent(in.uuid("a mapping"), k -> k);
            mappings.add(new BuildMapping(offset, length, build, in.u64("a mapping")));
        }
        return mappings;
    }

    static TmountException invalid(String what, String format, Object... args) {
        return new TmountException(TmountException.Kind.FAILED, what + " " + String.format(format, args));
    }
}
