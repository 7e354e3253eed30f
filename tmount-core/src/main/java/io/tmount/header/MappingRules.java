package io.tmount.header;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Checks a header's mappings as e2b reads them. From version 3 on they must be strictly sorted, contiguous from 0
 * and cover the device; e2b pads the last mapping to a whole 4 KiB page, so coverage may run up to the next page
 * boundary past the device size. Versions 1 and 2 were written before e2b fixed its merging, and e2b still reads
 * them with overlapping or empty mappings: where two overlap, e2b's lookup (the last mapping starting at or before an
 * offset) makes the later one win, so the earlier one is cut short here, and the overlap is logged.
 */
final class MappingRules {

    /** e2b's page: V5 counts in it, and e2b pads mappings to it. */
    static final long PAGE = 4096;

    private static final Logger log = LoggerFactory.getLogger(MappingRules.class);

    private MappingRules() {
    }

    static List<BuildMapping> check(int format, long size, List<BuildMapping> mappings, String what) {
        List<BuildMapping> checked = format >= 3 ? mappings : lenient(mappings, what);
        long covered = 0;
        for (int index = 0; index < checked.size(); index++) {
            BuildMapping m = checked.get(index);
            if (m.length() <= 0) {
                throw HeaderCodec.invalid(what, "mapping %d at offset %d has length %d", index, m.offset(), m.length());
            }
            if (m.offset() < covered) {
                throw HeaderCodec.invalid(what, "mapping %d at offset %d overlaps the previous one, which ends at %d",
                        index, m.offset(), covered);
            }
            if (m.offset() > covered) {
                throw HeaderCodec.invalid(what, "leaves bytes %d to %d unmapped (mapping %d starts at %d)",
                        covered, m.offset(), index, m.offset());
            }
            // the storage end too must not overflow: it is checked against the object's size later
            if (m.storageOffset() < 0 || m.end() < 0 || m.storageOffset() > Long.MAX_VALUE - m.length()) {
                throw HeaderCodec.invalid(what, "mapping %d has an offset out of range", index);
            }
            covered = m.end();
        }
        if (covered < size || covered > roundUp(size)) {
            throw HeaderCodec.invalid(what, "maps %d bytes, but the device has %d", covered, size);
        }
        return checked;
    }

    /** Versions 1 and 2: sorted by offset, empty mappings dropped, each cut where the next one starts. */
    private static List<BuildMapping> lenient(List<BuildMapping> mappings, String what) {
        List<BuildMapping> sorted = new ArrayList<>(mappings);
        sorted.sort(Comparator.comparingLong(BuildMapping::offset)); // stable: of equal offsets the last one wins
        List<BuildMapping> out = new ArrayList<>(sorted.size());
        int overlaps = 0;
        for (int i = 0; i < sorted.size(); i++) {
            BuildMapping m = sorted.get(i);
            long end = m.end();
            if (i + 1 < sorted.size() && sorted.get(i + 1).offset() < end) {
                end = sorted.get(i + 1).offset();
                overlaps++;
            }
            if (end > m.offset()) {
                out.add(new BuildMapping(m.offset(), end - m.offset(), m.buildId(), m.storageOffset()));
            }
        }
        if (overlaps > 0) {
            log.warn("{} has {} overlapping mappings (written before e2b fixed its merging); reading them as e2b does, "
                    + "the later mapping wins", what, overlaps);
        }
        return out;
    }

    static long roundUp(long size) {
        return (size + PAGE - 1) / PAGE * PAGE;
    }

    /** Whether every offset, length and storage offset is a whole number of pages, as e2b's reader requires. */
    static boolean pageAligned(List<BuildMapping> mappings) {
        for (BuildMapping m : mappings) {
            if (m.offset() % PAGE != 0 || m.length() % PAGE != 0 || m.storageOffset() % PAGE != 0) {
                return false;
            }
        }
        return true;
    }

    static List<BuildMapping> sortedByOffset(List<BuildMapping> mappings) {
        return mappings.stream().sorted(Comparator.comparingLong(BuildMapping::offset)).toList();
    }
}
