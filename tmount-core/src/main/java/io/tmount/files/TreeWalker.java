package io.tmount.files;

import java.io.IOException;
import java.util.List;
import java.util.TreeMap;

/**
 * Walks a tree depth first, children in bytewise name order, never following a link and never leaving the
 * filesystem it starts on. An entry that cannot be read (a damaged image gives EIO) is reported to the visitor's
 * {@link Visitor#problem} and the walk goes on, so one bad inode does not hide the rest of the tree.
 */
public final class TreeWalker {

    /** Deeper than this is refused rather than holding one descriptor per level without end. */
    static final int MAX_DEPTH = 512;

    public interface Visitor {
        /** An entry; {@code dirFd} and {@code name} open it (for the start directory: itself, and an empty name). */
        void visit(FileEntry entry, int dirFd, byte[] name) throws IOException;

        /** Whether to go into a directory (after visiting it). */
        default boolean descend(FileEntry directory) {
            return true;
        }

        void problem(byte[] path, IOException error);
    }

    private final boolean readXattrs;

    public TreeWalker(boolean readXattrs) {
        this.readXattrs = readXattrs;
    }

    /** Visits the directory open at {@code dirFd} (shown as {@code path}), then what is below it. */
    public void walk(int dirFd, byte[] path, Visitor visitor) throws IOException {
        FileEntry start = entry(dirFd, new byte[0], path);
        visitor.visit(start, dirFd, new byte[0]);
        if (start.type() == Fs.Type.DIR && visitor.descend(start)) {
            children(dirFd, start, visitor, 1);
        }
    }

    /** The entry {@code name} in {@code dirFd}, shown as {@code path}. */
    public FileEntry entry(int dirFd, byte[] name, byte[] path) throws IOException {
        Fs.Stat stat = Fs.stat(dirFd, name);
        byte[] target = stat.type() == Fs.Type.LINK ? Fs.readLink(dirFd, name) : null;
        return new FileEntry(path, stat, target, readXattrs ? Fs.xattrs(dirFd, name) : new TreeMap<>());
    }

    private void children(int dirFd, FileEntry directory, Visitor visitor, int depth) throws IOException {
        List<byte[]> names;
        try {
            names = Fs.list(dirFd);
        } catch (IOException e) {
            visitor.problem(directory.path(), e);
            return;
        }
        for (byte[] name : names) {
            byte[] path = FileEntry.child(directory.path(), name);
            FileEntry entry;
            try {
                entry = entry(dirFd, name, path);
            } catch (IOException e) {
                visitor.problem(path, e);
                continue;
            }
            visitor.visit(entry, dirFd, name);
            if (entry.type() != Fs.Type.DIR || entry.stat().device() != directory.stat().device()
                    || !visitor.descend(entry)) {
                continue;
            }
            if (depth >= MAX_DEPTH) {
                visitor.problem(path, new IOException("deeper than " + MAX_DEPTH + " levels: not walked"));
                continue;
            }
            int child;
            try {
                child = Fs.openAt(dirFd, name, Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW);
            } catch (IOException e) {
                visitor.problem(path, e);
                continue;
            }
            try {
                children(child, entry, visitor, depth + 1);
            } finally {
                Fs.close(child);
            }
        }
    }
}
