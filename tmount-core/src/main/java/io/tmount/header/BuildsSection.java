package io.tmount.header;

import io.tmount.compress.Compression;
import io.tmount.compress.FrameTable;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The Builds section of version 4 and 5 headers: {@code u32 count}, then per build, sorted by UUID bytes, its
 * UUID, {@code i64} uncompressed size, 32-byte SHA-256 (zeros: unknown) and frame table ({@code u32} compression
 * type, {@code u32} frame count, then 24-byte frames: {@code i64 startU, i64 startC, i32 sizeU, i32 sizeC}).
 */
final class BuildsSection {

    private static final int FIXED_BYTES = 16 + 8 + 32;
    private static final int TABLE_HEADER_BYTES = 8;
    private static final int FRAME_BYTES = 24;
    private static final byte[] NO_CHECKSUM = new byte[32];

    private BuildsSection() {
    }

    static Map<UUID, BuildData> read(LeReader in) {
        long count = in.u32("the build count");
        if (count > in.remaining() / (FIXED_BYTES + TABLE_HEADER_BYTES)) {
            throw in.invalid("has a build count of %d, more than its %d remaining bytes can hold", count, in.remaining());
        }
        Map<UUID, BuildData> builds = new HashMap<>((int) count * 2);
        for (long b = 0; b < count; b++) {
            UUID id = in.uuid("a build id");
            long size = (long) in.u64("the size of build " + id);
            byte[] checksum = in.bytes(32, "the checksum of build " + id);
            FrameTable frames = readTable(in, id);
            if (size < 0) {
                throw in.invalid("records a negative size %d for build %s", size, id);
            }
            String sha = java.util.Arrays.equals(checksum, NO_CHECKSUM) ? null : HexFormat.of().formatHex(checksum);
            builds.put(id, new BuildData(size, sha, frames));
        }
        return builds;
    }

    private static FrameTable readTable(LeReader in, UUID id) {
        long type = in.u32("the compression type of build " + id);
        long n = in.u32("the frame count of build " + id);
        Compression compression = Compression.ofCode(type);
        if (compression == null) {
            throw in.invalid("gives build %s the unknown compression type %d", id, type);
        }
        if (compression == Compression.NONE && n > 0) {
            throw in.invalid("gives build %s compression type 0 but %d frames (a corrupt header)", id, n);
        }
        if (n == 0) {
            return FrameTable.NONE;
        }
        if (n > FrameTable.MAX_FRAMES) {
            throw in.invalid("gives build %s %d frames; e2b reads at most %d", id, n, FrameTable.MAX_FRAMES);
        }
        if (n > in.remaining() / FRAME_BYTES) {
            throw in.invalid("gives build %s %d frames, more than its %d remaining bytes can hold", id, n, in.remaining());
        }
        int frames = (int) n;
        long[] startU = new long[frames];
        long[] startC = new long[frames];
        int[] sizeU = new int[frames];
        int[] sizeC = new int[frames];
        for (int i = 0; i < frames; i++) {
            startU[i] = in.u64("a frame of build " + id);
            startC[i] = in.u64("a frame of build " + id);
            sizeU[i] = in.s32("a frame of build " + id);
            sizeC[i] = in.s32("a frame of build " + id);
        }
        try {
            return FrameTable.of(compression, startU, startC, sizeU, sizeC);
        } catch (IllegalArgumentException e) {
            throw in.invalid("has a bad frame table for build %s: %s", id, e.getMessage());
        }
    }

    /** Writes the section, each table trimmed to the frames the mappings use of its build (as e2b writes it). */
    static void write(LeWriter out, Map<UUID, BuildData> builds, List<BuildMapping> mappings) {
        Map<UUID, List<long[]>> used = new HashMap<>();
        for (BuildMapping m : mappings) {
            used.computeIfAbsent(m.buildId(), k -> new ArrayList<>())
                    .add(new long[]{m.storageOffset(), m.storageOffset() + m.length()});
        }
        List<UUID> ids = new ArrayList<>(builds.keySet());
        ids.sort(BuildsSection::compareBytes);
        out.u32(ids.size());
        for (UUID id : ids) {
            BuildData data = builds.get(id);
            out.uuid(id).u64(data.size());
            out.bytes(data.sha256() == null ? NO_CHECKSUM : HexFormat.of().parseHex(data.sha256()));
            FrameTable table = data.frames().trimmedTo(used.getOrDefault(id, List.of()));
            if (!table.compressed()) {
                out.u32(0).u32(0);
                continue;
            }
            out.u32(table.compression().code()).u32(table.count());
            for (int i = 0; i < table.count(); i++) {
                out.u64(table.startU(i)).u64(table.startC(i)).u32(table.sizeU(i)).u32(table.sizeC(i));
            }
        }
    }

    /** The order of Go's {@code bytes.Compare} on the 16 UUID bytes: unsigned, most significant first. */
    static int compareBytes(UUID a, UUID b) {
        int c = Long.compareUnsigned(a.getMostSignificantBits(), b.getMostSignificantBits());
        return c != 0 ? c : Long.compareUnsigned(a.getLeastSignificantBits(), b.getLeastSignificantBits());
    }
}
