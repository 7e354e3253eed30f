package io.tmount.compress;

import java.util.Arrays;
import java.util.List;

/**
 * Where each frame of a compressed data object lies, in both address spaces: uncompressed (U, the build's data as
 * its header maps it) and compressed (C, the stored object). Entries are sorted and do not overlap in either space;
 * a table in a header may be trimmed to the frames that header's mappings use, so it may have gaps. Immutable;
 * lookups are binary searches.
 */
public final class FrameTable {

    /** e2b's cap on a table's frames (1 Mi frames: 2 TiB of data at 2 MiB per frame), against corrupt headers. */
    public static final int MAX_FRAMES = 1 << 20;

    /** Stored uncompressed: no frames. */
    public static final FrameTable NONE = new FrameTable(Compression.NONE, new long[0], new long[0], new int[0], new int[0]);

    private final Compression compression;
    private final long[] startU;
    private final long[] startC;
    private final int[] sizeU;
    private final int[] sizeC;

    private FrameTable(Compression compression, long[] startU, long[] startC, int[] sizeU, int[] sizeC) {
        this.compression = compression;
        this.startU = startU;
        this.startC = startC;
        this.sizeU = sizeU;
        this.sizeC = sizeC;
    }

    /**
     * A table from its entries, checked as e2b checks one it reads: at most {@link #MAX_FRAMES}, every size
     * positive, entries in order without overlap in either space. No frames, or compression none, is {@link #NONE}.
     */
    public static FrameTable of(Compression compression, long[] startU, long[] startC, int[] sizeU, int[] sizeC) {
        int n = startU.length;
        if (startC.length != n || sizeU.length != n || sizeC.length != n) {
            throw new IllegalArgumentException("frame table columns differ in length");
        }
        if (compression == Compression.NONE && n > 0) {
            throw new IllegalArgumentException("compression type is none but the table has " + n + " frames");
        }
        if (n == 0) {
            return NONE;
        }
        if (n > MAX_FRAMES) {
            throw new IllegalArgumentException("frame count " + n + " exceeds the maximum " + MAX_FRAMES);
        }
        for (int i = 0; i < n; i++) {
            if (sizeU[i] <= 0 || sizeC[i] <= 0) {
                throw new IllegalArgumentException("frame " + i + " has size " + sizeU[i] + " (uncompressed) / "
                        + sizeC[i] + " (compressed)");
            }
            if (startU[i] < 0 || startC[i] < 0) {
                throw new IllegalArgumentException("frame " + i + " starts at a negative offset");
            }
            if (i > 0 && startU[i] < startU[i - 1] + sizeU[i - 1]) {
                throw new IllegalArgumentException("frame " + i + " starts at uncompressed offset " + startU[i]
                        + ", inside frame " + (i - 1) + " (which ends at " + (startU[i - 1] + sizeU[i - 1]) + ")");
            }
            if (i > 0 && startC[i] < startC[i - 1] + sizeC[i - 1]) {
                throw new IllegalArgumentException("frame " + i + " starts at compressed offset " + startC[i]
                        + ", inside frame " + (i - 1) + " (which ends at " + (startC[i - 1] + sizeC[i - 1]) + ")");
            }
        }
        return new FrameTable(compression, startU.clone(), startC.clone(), sizeU.clone(), sizeC.clone());
    }

    /** A whole object's table, frames back to back in both spaces from 0 (what a writer produces). */
    public static FrameTable contiguous(Compression compression, int[] sizeU, int[] sizeC) {
        long[] startU = new long[sizeU.length];
        long[] startC = new long[sizeU.length];
        for (int i = 1; i < sizeU.length; i++) {
            startU[i] = startU[i - 1] + sizeU[i - 1];
            startC[i] = startC[i - 1] + sizeC[i - 1];
        }
        return of(compression, startU, startC, sizeU, sizeC);
    }

    public Compression compression() {
        return compression;
    }

    /** Whether the object is stored in frames (e2b: a compression type other than none, and frames). */
    public boolean compressed() {
        return compression != Compression.NONE && startU.length > 0;
    }

    public int count() {
        return startU.length;
    }

    public long startU(int i) {
        return startU[i];
    }

    public long endU(int i) {
        return startU[i] + sizeU[i];
    }

    public long startC(int i) {
        return startC[i];
    }

    public long endC(int i) {
        return startC[i] + sizeC[i];
    }

    public int sizeU(int i) {
        return sizeU[i];
    }

    public int sizeC(int i) {
        return sizeC[i];
    }

    /** The frame holding uncompressed offset {@code offset}, or -1 when none does (a gap, or past the end). */
    public int find(long offset) {
        int i = Arrays.binarySearch(startU, offset);
        if (i < 0) {
            i = -i - 2;
        }
        return i >= 0 && offset < endU(i) ? i : -1;
    }

    /** Whether frames cover every byte of {@code [from, to)} without a gap. */
    public boolean covers(long from, long to) {
        return firstGap(from, to) < 0;
    }

    /** The first uncompressed offset in {@code [from, to)} no frame covers, or -1 when all are covered. */
    public long firstGap(long from, long to) {
        long position = from;
        while (position < to) {
            int i = find(position);
            if (i < 0) {
                return position;
            }
            position = endU(i);
        }
        return -1;
    }

    public long uncompressedBytes() {
        long total = 0;
        for (int s : sizeU) {
            total += s;
        }
        return total;
    }

    public long compressedBytes() {
        long total = 0;
        for (int s : sizeC) {
            total += s;
        }
        return total;
    }

    /** Where the last frame ends in the stored object (0 without frames). */
    public long endC() {
        return startC.length == 0 ? 0 : endC(startC.length - 1);
    }

    /** Where the last frame ends in the uncompressed data (0 without frames). */
    public long endU() {
        return startU.length == 0 ? 0 : endU(startU.length - 1);
    }

    /**
     * Only the frames that overlap one of the uncompressed ranges {@code {from, to}} (e2b writes each header's
     * tables trimmed so). The same table when nothing goes, and, as in e2b, when there are no ranges at all.
     */
    public FrameTable trimmedTo(List<long[]> ranges) {
        if (!compressed() || ranges.isEmpty()) {
            return this;
        }
        boolean[] keep = new boolean[count()];
        int kept = 0;
        for (long[] range : ranges) {
            int i = find(range[0]);
            if (i < 0) {
                i = firstEndingAfter(range[0]);
            }
            for (; i >= 0 && i < count() && startU[i] < range[1]; i++) {
                if (!keep[i]) {
                    keep[i] = true;
                    kept++;
                }
            }
        }
        if (kept == count()) {
            return this;
        }
        return select(keep, kept);
    }

    /**
     * This table with the frames of {@code other} added: two trimmed tables of one object, as two headers carry them.
     * Frames both hold must agree; a conflict means the tables are not of the same object.
     */
    public FrameTable merge(FrameTable other) {
        if (!other.compressed() || other == this) {
            return this;
        }
        if (!compressed()) {
            return other;
        }
        if (other.compression != compression) {
            throw new IllegalArgumentException("frame tables disagree on the compression (" + compression.label()
                    + " and " + other.compression.label() + ")");
        }
        int n = count() + other.count();
        long[] su = new long[n];
        long[] sc = new long[n];
        int[] zu = new int[n];
        int[] zc = new int[n];
        int a = 0;
        int b = 0;
        int k = 0;
        while (a < count() || b < other.count()) {
            boolean takeA;
            if (a < count() && b < other.count() && startU[a] == other.startU[b]) {
                if (startC[a] != other.startC[b] || sizeU[a] != other.sizeU[b] || sizeC[a] != other.sizeC[b]) {
                    throw new IllegalArgumentException("frame tables disagree on the frame at uncompressed offset "
                            + startU[a]);
                }
                b++;
                takeA = true;
            } else {
                takeA = b >= other.count() || (a < count() && startU[a] < other.startU[b]);
            }
            if (takeA) {
                su[k] = startU[a];
                sc[k] = startC[a];
                zu[k] = sizeU[a];
                zc[k] = sizeC[a];
                a++;
            } else {
                su[k] = other.startU[b];
                sc[k] = other.startC[b];
                zu[k] = other.sizeU[b];
                zc[k] = other.sizeC[b];
                b++;
            }
            k++;
        }
        return of(compression, Arrays.copyOf(su, k), Arrays.copyOf(sc, k), Arrays.copyOf(zu, k), Arrays.copyOf(zc, k));
    }

    private int firstEndingAfter(long offset) {
        int lo = 0;
        int hi = count();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (endU(mid) > offset) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo < count() ? lo : -1;
    }

    private FrameTable select(boolean[] keep, int kept) {
        long[] su = new long[kept];
        long[] sc = new long[kept];
        int[] zu = new int[kept];
        int[] zc = new int[kept];
        int k = 0;
        for (int i = 0; i < count(); i++) {
            if (keep[i]) {
                su[k] = startU[i];
                sc[k] = startC[i];
                zu[k] = sizeU[i];
                zc[k] = sizeC[i];
                k++;
            }
        }
        return of(compression, su, sc, zu, zc);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FrameTable t && compression == t.compression && Arrays.equals(startU, t.startU)
                && Arrays.equals(startC, t.startC) && Arrays.equals(sizeU, t.sizeU) && Arrays.equals(sizeC, t.sizeC);
    }

    @Override
    public int hashCode() {
        return compression.hashCode() * 31 + Arrays.hashCode(startU);
    }

    @Override
    public String toString() {
        return compressed() ? compression.label() + " table of " + count() + " frames" : "uncompressed";
    }
}
