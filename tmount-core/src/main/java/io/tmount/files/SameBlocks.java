package io.tmount.files;

import io.tmount.header.BuildMapping;
import io.tmount.header.Header;

import java.util.ArrayList;
import java.util.List;

/**
 * The device ranges two builds read from the same place: where both headers map a byte to the same build's same
 * offset (or both to zeros), it is the same byte in both, since a stored build never changes. A build without a
 * header is one range mapped onto itself. Only ever used to skip comparing what is provably equal.
 */
public final class SameBlocks {

    /** One stretch of a device and where its bytes come from. */
    public record Piece(long offset, long length, String source, long sourceOffset) {
        long end() {
            return offset + length;
        }
    }

    private final long[] starts;
    private final long[] ends;

    private SameBlocks(List<long[]> ranges) {
        starts = ranges.stream().mapToLong(r -> r[0]).toArray();
        ends = ranges.stream().mapToLong(r -> r[1]).toArray();
    }

    /** The pieces of a build: its header's mappings, or (no header) the whole device from the build itself. */
    public static List<Piece> pieces(Header header, String buildId, long size) {
        if (header == null) {
            return List.of(new Piece(0, size, "build:" + buildId, 0));
        }
        List<Piece> pieces = new ArrayList<>();
        for (BuildMapping mapping : header.mappings()) {
            pieces.add(new Piece(mapping.offset(), mapping.length(),
                    mapping.zeros() ? "zeros" : mapping.buildId().toString(), mapping.zeros() ? 0 : mapping.storageOffset()));
        }
        return pieces;
    }

    public static SameBlocks of(List<Piece> a, List<Piece> b) {
        List<long[]> same = new ArrayList<>();
        int i = 0;
        int j = 0;
        while (i < a.size() && j < b.size()) {
            Piece x = a.get(i);
            Piece y = b.get(j);
            long start = Math.max(x.offset(), y.offset());
            long end = Math.min(x.end(), y.end());
            if (start < end && x.source().equals(y.source())
                    && (x.source().equals("zeros")
                    || x.sourceOffset() - x.offset() == y.sourceOffset() - y.offset())) {
                if (!same.isEmpty() && same.getLast()[1] == start) {
                    same.getLast()[1] = end;
                } else {
                    same.add(new long[]{start, end});
                }
            }
            if (x.end() <= y.end()) {
                i++;
            } else {
                j++;
            }
        }
        return new SameBlocks(same);
    }

    /** Whether every byte of {@code [offset, offset+length)} is the same in both builds. */
    public boolean covers(long offset, long length) {
        int low = 0;
        int high = starts.length - 1;
        while (low <= high) {
            int mid = (low + high) >>> 1;
            if (ends[mid] <= offset) {
                low = mid + 1;
            } else if (starts[mid] > offset) {
                high = mid - 1;
            } else {
                return offset + length <= ends[mid];
            }
        }
        return false;
    }

    /** Bytes the two builds share. */
    public long sharedBytes() {
        long total = 0;
        for (int k = 0; k < starts.length; k++) {
            total += ends[k] - starts[k];
        }
        return total;
    }
}
