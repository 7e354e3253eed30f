package io.tmount.files;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Compares two trees directory by directory, in step, so memory stays at one directory's names per level. Content
 * is compared byte for byte, except where {@link SameBlocks} proves it equal: both files have the same extents
 * (FIEMAP), all plain, on device ranges both builds read from the same stored bytes. That needs filesystems that
 * report extents (the kernel's ext4, mounted read-only without journal replay, as tmount's read-only mounts are);
 * elsewhere every candidate is read.
 */
public final class TreeDiff {

    /** How much work a diff did. */
    public record Summary(long entries, long compared, long provenSame, long bytesRead, long problems) {
    }

    /** Receives each change and each entry that could not be read. */
    public interface Listener {
        /** Each entry, as it is compared (where a caller checks whether it should stop). */
        default void entry(byte[] path) {
        }

        void change(Change change) throws IOException;

        void problem(byte[] path, IOException error);
    }

    private final TreeWalker walker = new TreeWalker(true);
    private final FileContent content;
    private final SameBlocks same;
    private final boolean times;
    private final Listener listener;
    private long entries;
    private long compared;
    private long provenSame;
    private long problems;

    /** {@code same} may be null: then every file whose metadata matches is read in full. */
    public TreeDiff(FileContent content, SameBlocks same, boolean times, Listener listener) {
        this.content = content;
        this.same = same;
        this.times = times;
        this.listener = listener;
    }

    /** Compares the directories open at {@code a} and {@code b}, both shown as {@code path}. */
    public Summary run(int a, int b, byte[] path) throws IOException {
        FileEntry rootA = walker.entry(a, new byte[0], path);
        FileEntry rootB = walker.entry(b, new byte[0], path);
        compareEntries(rootA, a, new byte[0], rootB, b, new byte[0]);
        if (rootA.type() == Fs.Type.DIR && rootB.type() == Fs.Type.DIR) {
            directories(a, b, path, 1);
        }
        return new Summary(entries, compared, provenSame, content.bytesRead(), problems);
    }

    private void directories(int a, int b, byte[] path, int depth) throws IOException {
        List<byte[]> namesA;
        List<byte[]> namesB;
        try {
            namesA = Fs.list(a);
            namesB = Fs.list(b);
        } catch (IOException e) {
            problem(path, e);
            return;
        }
        int i = 0;
        int j = 0;
        while (i < namesA.size() || j < namesB.size()) {
            int order = i == namesA.size() ? 1 : j == namesB.size() ? -1
                    : Arrays.compareUnsigned(namesA.get(i), namesB.get(j));
            if (order < 0) {
                onlyIn(Change.Kind.REMOVED, a, namesA.get(i++), path, depth);
            } else if (order > 0) {
                onlyIn(Change.Kind.ADDED, b, namesB.get(j++), path, depth);
            } else {
                byte[] name = namesA.get(i++);
                j++;
                both(a, b, name, FileEntry.child(path, name), depth);
            }
        }
    }

    private void both(int a, int b, byte[] name, byte[] path, int depth) throws IOException {
        FileEntry entryA;
        FileEntry entryB;
        try {
            entryA = walker.entry(a, name, path);
            entryB = walker.entry(b, name, path);
        } catch (IOException e) {
            problem(path, e);
            return;
        }
        boolean dirA = entryA.type() == Fs.Type.DIR;
        boolean dirB = entryB.type() == Fs.Type.DIR;
        compareEntries(entryA, a, name, entryB, b, name);
        if (dirA && dirB) {
            if (depth >= TreeWalker.MAX_DEPTH) {
                problem(path, new IOException("deeper than " + TreeWalker.MAX_DEPTH + " levels: not compared"));
                return;
            }
            int childA;
            int childB;
            try {
                childA = Fs.openAt(a, name, Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW);
            } catch (IOException e) {
                problem(path, e);
                return;
            }
            try {
                try {
                    childB = Fs.openAt(b, name, Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW);
                } catch (IOException e) {
                    problem(path, e);
                    return;
                }
                try {
                    directories(childA, childB, path, depth + 1);
                } finally {
                    Fs.close(childB);
                }
            } finally {
                Fs.close(childA);
            }
        } else if (dirA) {
            below(Change.Kind.REMOVED, a, name, entryA);
        } else if (dirB) {
            below(Change.Kind.ADDED, b, name, entryB);
        }
    }

    /** An entry on one side only: it, and everything below it. */
    private void onlyIn(Change.Kind kind, int dirFd, byte[] name, byte[] parent, int depth) throws IOException {
        byte[] path = FileEntry.child(parent, name);
        FileEntry entry;
        try {
            entry = walker.entry(dirFd, name, path);
        } catch (IOException e) {
            problem(path, e);
            return;
        }
        report(kind, entry);
        if (entry.type() == Fs.Type.DIR) {
            below(kind, dirFd, name, entry);
        }
    }

    private void below(Change.Kind kind, int dirFd, byte[] name, FileEntry directory) throws IOException {
        int child;
        try {
            child = Fs.openAt(dirFd, name, Fs.O_RDONLY | Fs.O_DIRECTORY | Fs.O_NOFOLLOW);
        } catch (IOException e) {
            problem(directory.path(), e);
            return;
        }
        try {
            walker.walk(child, directory.path(), new TreeWalker.Visitor() {
                @Override
                public void visit(FileEntry entry, int entryDir, byte[] entryName) throws IOException {
                    if (entry.path() != directory.path()) {
                        report(kind, entry);
                    }
                }

                @Override
                public void problem(byte[] path, IOException error) {
                    TreeDiff.this.problem(path, error);
                }
            });
        } finally {
            Fs.close(child);
        }
    }

    private void report(Change.Kind kind, FileEntry entry) throws IOException {
        entries++;
        listener.entry(entry.path());
        listener.change(new Change(kind, entry.path(), List.of(), kind == Change.Kind.REMOVED ? entry : null,
                kind == Change.Kind.ADDED ? entry : null));
    }

    private void compareEntries(FileEntry a, int dirA, byte[] nameA, FileEntry b, int dirB, byte[] nameB)
            throws IOException {
        entries++;
        listener.entry(a.path());
        List<String> what = new ArrayList<>();
        Fs.Stat x = a.stat();
        Fs.Stat y = b.stat();
        if (x.type() != y.type()) {
            what.add("type");
        } else {
            switch (x.type()) {
                case FILE -> {
                    try {
                        if (x.size() != y.size() || !sameContent(x, dirA, nameA, y, dirB, nameB)) {
                            what.add("content");
                        }
                    } catch (IOException e) { // EIO from a damaged image, say: that file, not the whole diff
                        problem(a.path(), e);
                    }
                }
                case LINK -> {
                    if (!Arrays.equals(a.target(), b.target())) {
                        what.add("target");
                    }
                }
                case CHAR, BLOCK -> {
                    if (x.rdevMajor() != y.rdevMajor() || x.rdevMinor() != y.rdevMinor()) {
                        what.add("device");
                    }
                }
                default -> {
                }
            }
        }
        if (x.mode() != y.mode()) {
            what.add("mode");
        }
        if (x.uid() != y.uid() || x.gid() != y.gid()) {
            what.add("owner");
        }
        if (!sameXattrs(a.xattrs(), b.xattrs())) {
            what.add("xattrs");
        }
        if (times && (x.mtimeSeconds() != y.mtimeSeconds() || x.mtimeNanos() != y.mtimeNanos())) {
            what.add("time");
        }
        if (!what.isEmpty()) {
            listener.change(new Change(Change.Kind.CHANGED, a.path(), what, a, b));
        }
    }

    private boolean sameContent(Fs.Stat x, int dirA, byte[] nameA, Fs.Stat y, int dirB, byte[] nameB)
            throws IOException {
        if (x.size() == 0) {
            return true;
        }
        if (same != null && !x.encrypted() && !y.encrypted() && provenSame(dirA, nameA, dirB, nameB)) {
            provenSame++;
            return true;
        }
        compared++;
        return content.same(dirA, nameA, dirB, nameB);
    }

    /** Same extents, all plain, on ranges both builds read from the same stored bytes. */
    private boolean provenSame(int dirA, byte[] nameA, int dirB, byte[] nameB) throws IOException {
        List<Fs.Extent> a = content.extents(dirA, nameA);
        if (a == null) {
            return false;
        }
        List<Fs.Extent> b = content.extents(dirB, nameB);
        if (b == null || a.size() != b.size()) {
            return false;
        }
        for (int k = 0; k < a.size(); k++) {
            Fs.Extent x = a.get(k);
            Fs.Extent y = b.get(k);
            if ((x.flags() & Fs.Extent.NOT_PLAIN) != 0 || x.logical() != y.logical() || x.physical() != y.physical()
                    || x.length() != y.length() || (x.flags() & ~Fs.Extent.LAST) != (y.flags() & ~Fs.Extent.LAST)
                    || !same.covers(x.physical(), x.length())) {
                return false;
            }
        }
        return true;
    }

    private static boolean sameXattrs(Map<String, byte[]> a, Map<String, byte[]> b) {
        if (!a.keySet().equals(b.keySet())) {
            return false;
        }
        for (Map.Entry<String, byte[]> entry : a.entrySet()) {
            if (!Arrays.equals(entry.getValue(), b.get(entry.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private void problem(byte[] path, IOException error) {
        problems++;
        listener.problem(path, error);
    }
}
