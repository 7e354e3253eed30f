package io.tmount.os;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Copies a file keeping its holes: only the data ranges are copied (SEEK_DATA / SEEK_HOLE), so an 8 GiB image that
 * is mostly empty costs its data, not 8 GiB of zeros, on the target's disk.
 */
public final class SparseCopy {

    private SparseCopy() {
    }

    public static void copy(Path source, Path target) throws IOException {
        try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) { // first: a missing source makes no target
            try (RandomAccessFile out = new RandomAccessFile(target.toFile(), "rw")) {
                out.setLength(0);
                long size = in.size();
                out.setLength(size);
                FileChannel channel = out.getChannel();
                int fd = LinuxFiles.openReadOnly(source);
                try {
                    long position = 0;
                    while (position < size) {
                        long data = LinuxFiles.nextData(fd, position, size);
                        if (data >= size) {
                            break;
                        }
                        long hole = Math.max(data + 1, LinuxFiles.nextHole(fd, data, size));
                        for (long at = data; at < hole; ) {
                            long n = in.transferTo(at, hole - at, channel.position(at));
                            if (n <= 0) {
                                throw new IOException(source + " ended at " + at + " while copying it");
                            }
                            at += n;
                        }
                        position = hole;
                    }
                } finally {
                    LinuxFiles.close(fd);
                }
            }
        }
    }
}
