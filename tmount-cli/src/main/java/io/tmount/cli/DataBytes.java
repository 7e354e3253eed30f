package io.tmount.cli;

import io.tmount.files.FileEntry;
import io.tmount.files.Fs;
import io.tmount.files.TreeWalker;

import java.io.IOException;

/**
 * The bytes a copy of a tree reads: each regular file's data, holes left out (cp and tar skip them), for a progress
 * bar's total. A metadata walk, quick next to the copy; what cannot be read counts as nothing.
 */
final class DataBytes {

    private DataBytes() {
    }

    /** Below {@code name} in the directory {@code parentFd} (an empty name: that directory itself). */
    static long under(int parentFd, byte[] name, Runnable between) {
        try {
            Fs.Stat stat = Fs.stat(parentFd, name);
            if (stat.type() == Fs.Type.FILE) {
                return data(stat);
            }
            if (stat.type() != Fs.Type.DIR) {
                return 0;
            }
            int dir = Fs.openAt(parentFd, name.length == 0 ? new byte[]{'.'} : name,
                    Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW);
            try {
                long[] total = {0};
                new TreeWalker(false).walk(dir, new byte[]{'/'}, new TreeWalker.Visitor() {
                    @Override
                    public void visit(FileEntry entry, int dirFd, byte[] entryName) {
                        between.run();
                        if (entry.type() == Fs.Type.FILE) {
                            total[0] += data(entry.stat());
                        }
                    }

                    @Override
                    public void problem(byte[] path, IOException error) {
                        // the copy itself reports it
                    }
                });
                return total[0];
            } finally {
                Fs.close(dir);
            }
        } catch (IOException e) {
            return 0;
        }
    }

    private static long data(Fs.Stat stat) {
        return Math.min(stat.size(), stat.blocks() * 512);
    }
}
