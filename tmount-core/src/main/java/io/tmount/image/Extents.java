package io.tmount.image;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the extents of a range in order, merging neighbours with the same flags, and stops early once it holds
 * {@link #MAX} of them: a client asking about a large range gets an answer for a prefix of it, as NBD allows.
 */
final class Extents {

    /** Enough to describe a few GiB of a fragmented overlay in one reply, small enough to send at once. */
    public static final int MAX = 8192;

    private final List<Extent> extents = new ArrayList<>();
    private long covered;

    /** Adds the next run; false once no more are taken (the caller may stop looking). */
    public boolean add(long length, int flags) {
        if (length <= 0) {
            return !full();
        }
        int last = extents.size() - 1;
        if (last >= 0 && extents.get(last).flags() == flags) {
            extents.set(last, new Extent(extents.get(last).length() + length, flags));
        } else if (full()) {
            return false;
        } else {
            extents.add(new Extent(length, flags));
        }
        covered += length;
        return !full();
    }

    /** Adds runs another image reported. */
    public boolean addAll(List<Extent> runs) {
        for (Extent run : runs) {
            if (!add(run.length(), run.flags())) {
                return false;
            }
        }
        return !full();
    }

    public boolean full() {
        return extents.size() >= MAX;
    }

    public long covered() {
        return covered;
    }

    public List<Extent> list() {
        return List.copyOf(extents);
    }
}
