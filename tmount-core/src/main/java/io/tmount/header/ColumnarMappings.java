package io.tmount.header;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The mapping section of version 5 headers: columnar and varint-coded in 4 KiB pages, nil ranges left out (gaps
 * read as zeros). {@code u32 M}, M build UUIDs, {@code u32 N}, then N uvarint offset deltas, N uvarint lengths, N
 * zig-zag varint storage deltas and N uvarint build indexes. Limits as e2b's reader has them: at most 8 Mi entries
 * and 65535 builds, block indexes within 32 bits.
 */
final class ColumnarMappings {

    /** e2b's cap on a V5 header's entries. */
    static final int MAX_ENTRIES = 8 << 20;
    /** e2b keeps one index value for nil, so a header names at most this many builds. */
    static final int MAX_BUILDS = 65535;
    private static final long MAX_BLOCK = 0xFFFFFFFFL;

    private ColumnarMappings() {
    }

    static List<BuildMapping> read(LeReader in, long size) {
        long sizeBlocks = (size + MappingRules.PAGE - 1) / MappingRules.PAGE;
        if (sizeBlocks > MAX_BLOCK) {
            throw in.invalid("has a device of %d pages, more than 32 bits can count", sizeBlocks);
        }
        long m = in.u32("the mapping build count");
        if (m > MAX_BUILDS || m > in.remaining() / 16) {
            throw in.invalid("names %d builds in its mappings (at most %d, and no more than its bytes hold)", m, MAX_BUILDS);
        }
        UUID[] builds = new UUID[(int) m];
        for (int i = 0; i < m; i++) {
            builds[i] = in.uuid("the mapping build table");
        }
        long n = in.u32("the mapping count");
        if (n > MAX_ENTRIES) {
            throw in.invalid("has %d mappings; e2b reads at most %d", n, MAX_ENTRIES);
        }
        if (n > in.remaining() / 4) { // each entry takes at least a byte in each of the four columns
            throw in.invalid("has %d mappings, more than its %d remaining bytes can hold", n, in.remaining());
        }
        int count = (int) n;
        long[] offsets = new long[count];
        long[] lengths = new long[count];
        long[] storage = new long[count];
        int[] index = new int[count];
        long offset = 0;
        for (int i = 0; i < count; i++) {
            long delta = in.uvarint("the offset column");
            if (Long.compareUnsigned(delta, MAX_BLOCK) > 0 || (offset += delta) > MAX_BLOCK) {
                throw in.invalid("mapping %d starts past page %d", i, MAX_BLOCK);
            }
            offsets[i] = offset;
        }
        for (int i = 0; i < count; i++) {
            lengths[i] = in.uvarint("the length column");
            if (Long.compareUnsigned(lengths[i], MAX_BLOCK) > 0) {
                throw in.invalid("mapping %d is longer than %d pages", i, MAX_BLOCK);
            }
        }
        long stored = 0;
        for (int i = 0; i < count; i++) {
            stored += in.varint("the storage column");
            if (stored < 0 || stored > MAX_BLOCK) {
                throw in.invalid("mapping %d has storage page %d, out of range", i, stored);
            }
            storage[i] = stored;
        }
        for (int i = 0; i < count; i++) {
            long idx = in.uvarint("the build index column");
            if (Long.compareUnsigned(idx, m) >= 0) {
                throw in.invalid("mapping %d names build %d of %d", i, idx, m);
            }
            index[i] = (int) idx;
        }
        List<BuildMapping> out = new ArrayList<>(count * 2 + 1);
        long current = 0;
        for (int i = 0; i < count; i++) {
            if (lengths[i] == 0) {
                throw in.invalid("mapping %d has length 0", i);
            }
            if (offsets[i] < current) {
                throw in.invalid("mapping %d at page %d overlaps the previous one, which ends at page %d",
                        i, offsets[i], current);
            }
            if (offsets[i] > current) {
                out.add(nil(current, offsets[i]));
            }
            long end = offsets[i] + lengths[i];
            if (end > sizeBlocks) {
                throw in.invalid("mapping %d ends at page %d, past the device's %d pages", i, end, sizeBlocks);
            }
            out.add(new BuildMapping(offsets[i] * MappingRules.PAGE, lengths[i] * MappingRules.PAGE, builds[index[i]],
                    storage[i] * MappingRules.PAGE));
            current = end;
        }
        if (current < sizeBlocks) {
            out.add(nil(current, sizeBlocks));
        }
        return out;
    }

    private static BuildMapping nil(long fromPage, long toPage) {
        return new BuildMapping(fromPage * MappingRules.PAGE, (toPage - fromPage) * MappingRules.PAGE, BuildMapping.NIL, 0);
    }

    static void write(LeWriter out, List<BuildMapping> mappings, String what) {
        if (!MappingRules.pageAligned(mappings)) {
            throw HeaderCodec.invalid(what, "cannot be written as version 5: its mappings are not whole 4 KiB pages");
        }
        Map<UUID, Integer> index = new HashMap<>();
        List<UUID> builds = new ArrayList<>();
        List<BuildMapping> entries = new ArrayList<>();
        for (BuildMapping m : mappings) {
            if (m.zeros()) {
                continue;
            }
            if (index.putIfAbsent(m.buildId(), builds.size()) == null) {
                builds.add(m.buildId());
            }
            entries.add(m);
        }
        if (builds.size() > MAX_BUILDS || entries.size() > MAX_ENTRIES) {
            throw HeaderCodec.invalid(what, "cannot be written as version 5: %d builds and %d mappings (at most %d "
                    + "and %d)", builds.size(), entries.size(), MAX_BUILDS, MAX_ENTRIES);
        }
        out.u32(builds.size());
        builds.forEach(out::uuid);
        out.u32(entries.size());
        long previous = 0;
        for (BuildMapping m : entries) {
            out.uvarint(m.offset() / MappingRules.PAGE - previous);
            previous = m.offset() / MappingRules.PAGE;
        }
        for (BuildMapping m : entries) {
            out.uvarint(m.length() / MappingRules.PAGE);
        }
        long previousStorage = 0;
        for (BuildMapping m : entries) {
            out.varint(m.storageOffset() / MappingRules.PAGE - previousStorage);
            previousStorage = m.storageOffset() / MappingRules.PAGE;
        }
        for (BuildMapping m : entries) {
            out.uvarint(index.get(m.buildId()));
        }
    }
}
