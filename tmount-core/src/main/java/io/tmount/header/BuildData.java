package io.tmount.header;

import io.tmount.compress.FrameTable;

/**
 * What a version 4 or 5 header records of one build it maps to: the size of the build's uncompressed data (0 when
 * unknown), the SHA-256 of that data as lower-case hex (null when unknown: e2b stores all zeros), and the frame
 * table of its compressed data object ({@link FrameTable#NONE} when the build is stored uncompressed).
 */
public record BuildData(long size, String sha256, FrameTable frames) {

    /** e2b's zero entry: an uncompressed build, of a size to ask the store for. */
    public static final BuildData UNKNOWN = new BuildData(0, null, FrameTable.NONE);

    public BuildData {
        if (size < 0) {
            throw new IllegalArgumentException("build size " + size + " is negative");
        }
        if (sha256 != null && !sha256.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("SHA-256 '" + sha256 + "' is not 64 lower-case hex digits");
        }
        if (frames == null) {
            frames = FrameTable.NONE;
        }
    }

    public boolean compressed() {
        return frames.compressed();
    }

    /** e2b's zero entry ("uncompressed, size unknown"): nothing known beyond the entry's presence. */
    public boolean unknown() {
        return size == 0 && sha256 == null && !compressed();
    }
}
