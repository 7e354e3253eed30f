package io.tmount.image;

import io.tmount.TmountException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Reads and writes e2b's header format: a 64-byte metadata block, then 40-byte mappings to the end, all integers
 * little-endian, UUIDs as 16 raw bytes in RFC 4122 order. Reading checks everything a wrong byte could come from
 * later: the version, truncation, order, overlap, gaps and coverage of the device.
 */
public final class HeaderCodec {

    static final int METADATA_BYTES = 64;
    static final int MAPPING_BYTES = 40;

    private HeaderCodec() {
    }

    public static byte[] write(Header header) {
        ByteBuffer out = ByteBuffer.allocate(METADATA_BYTES + MAPPING_BYTES * header.mappings().size())
                .order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(header.version()).putLong(header.blockSize()).putLong(header.size()).putLong(header.generation());
        putUuid(out, header.buildId());
        putUuid(out, header.baseBuildId());
        for (BuildMapping m : header.mappings()) {
            out.putLong(m.offset()).putLong(m.length());
            putUuid(out, m.buildId());
            out.putLong(m.storageOffset());
        }
        return out.array();
    }

    /** Parses and validates; {@code what} names the header in errors (e.g. "header of build X"). */
    public static Header read(byte[] bytes, String what) {
        if (bytes.length < METADATA_BYTES) {
            throw invalid(what, "is truncated: %d bytes, the metadata alone takes %d", bytes.length, METADATA_BYTES);
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long version = in.getLong();
        int format = (int) (version & 0xffff);
        if (format == 4 || format == 5) {
            throw invalid(what, "has version %d (LZ4-compressed mappings of a compressed build); tmount reads "
                    + "versions 1 to 3 only", format);
        }
        if (format < 1 || format > 3) {
            throw invalid(what, "has unknown version %d (tmount reads versions 1 to 3)", format);
        }
        long blockSize = in.getLong();
        long size = in.getLong();
        long generation = in.getLong();
        UUID buildId = getUuid(in);
        UUID baseBuildId = getUuid(in);
        if (blockSize <= 0 || Long.bitCount(blockSize) != 1) {
            throw invalid(what, "has block size %d; it must be a power of two", blockSize);
        }
        if (size <= 0) {
            throw invalid(what, "has device size %d", size);
        }
        int tail = bytes.length - METADATA_BYTES;
        if (tail % MAPPING_BYTES != 0) {
            throw invalid(what, "is truncated: %d bytes after the metadata are not whole %d-byte mappings",
                    tail, MAPPING_BYTES);
        }
        List<BuildMapping> mappings = new ArrayList<>(tail / MAPPING_BYTES);
        long expected = 0;
        while (in.hasRemaining()) {
            BuildMapping m = new BuildMapping(in.getLong(), in.getLong(), getUuid(in), in.getLong());
            int index = mappings.size();
            if (m.length() <= 0) {
                throw invalid(what, "mapping %d at offset %d has length %d", index, m.offset(), m.length());
            }
            if (m.offset() < expected) {
                throw invalid(what, "mapping %d at offset %d overlaps the previous one, which ends at %d",
                        index, m.offset(), expected);
            }
            if (m.offset() > expected) {
                throw invalid(what, "leaves bytes %d to %d unmapped (mapping %d starts at %d)",
                        expected, m.offset(), index, m.offset());
            }
            // the storage end too must not overflow: it is checked against the object's size later
            if (m.storageOffset() < 0 || m.end() < 0 || m.storageOffset() > Long.MAX_VALUE - m.length()) {
                throw invalid(what, "mapping %d has an offset out of range", index);
            }
            expected = m.end();
            mappings.add(m);
        }
        if (expected != size) {
            throw invalid(what, "maps %d bytes, but the device has %d", expected, size);
        }
        return new Header(version, blockSize, size, generation, buildId, baseBuildId, mappings);
    }

    private static void putUuid(ByteBuffer out, UUID uuid) {
        // RFC 4122 byte order is big-endian, whatever the order of the integers around it
        out.order(ByteOrder.BIG_ENDIAN).putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits())
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    private static UUID getUuid(ByteBuffer in) {
        in.order(ByteOrder.BIG_ENDIAN);
        UUID uuid = new UUID(in.getLong(), in.getLong());
        in.order(ByteOrder.LITTLE_ENDIAN);
        return uuid;
    }

    private static TmountException invalid(String what, String format, Object... args) {
        return new TmountException(TmountException.Kind.FAILED, what + " " + String.format(format, args));
    }
}
