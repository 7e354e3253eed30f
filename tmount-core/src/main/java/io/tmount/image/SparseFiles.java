package io.tmount.image;

import io.tmount.os.LinuxFiles;

import java.io.IOException;

/** The data and holes of a sparse file, as extents (holes read as zeros). */
final class SparseFiles {

    private SparseFiles() {
    }

    /** Adds the extents of {@code [offset, offset + length)} of the open file {@code fd}; false once {@code out} is full. */
    static boolean extents(int fd, long offset, long length, Extents out) throws IOException {
        long end = offset + length;
        long position = offset;
        while (position < end) {
            long data = LinuxFiles.nextData(fd, position, end);
            if (!out.add(data - position, Extent.SPARSE) || data >= end) {
                return !out.full();
            }
            long hole = Math.max(data + 1, LinuxFiles.nextHole(fd, data, end));
            if (!out.add(Math.min(hole, end) - data, 0)) {
                return false;
            }
            position = hole;
        }
        return true;
    }
}
