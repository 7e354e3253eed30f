package io.tmount.image;

/**
 * A run of a device with one allocation state, as NBD's {@code base:allocation} metadata context reports it:
 * {@link #HOLE} (no storage behind it) and {@link #ZERO} (reads as zeros) bits, both clear for data.
 */
public record Extent(long length, int flags) {

    public static final int HOLE = 1;
    public static final int ZERO = 2;
    /** A hole that reads as zeros: unmapped ranges, sparse holes, trimmed blocks. */
    public static final int SPARSE = HOLE | ZERO;

    public Extent {
        if (length <= 0) {
            throw new IllegalArgumentException("an extent has a positive length, not " + length);
        }
    }
}
