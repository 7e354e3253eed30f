package io.tmount.files;

import java.util.Arrays;
import java.util.SortedMap;

/**
 * One entry of a build's tree: its path from the build's root ({@code /} for the root itself, bytes as stored), what
 * statx says of it, a link's target (null for anything else) and its extended attributes.
 */
public record FileEntry(byte[] path, Fs.Stat stat, byte[] target, SortedMap<String, byte[]> xattrs) {

    public Fs.Type type() {
        return stat.type();
    }

    public String displayPath() {
        return Names.display(path);
    }

    /** The path of {@code name} inside the directory at {@code parent}. */
    static byte[] child(byte[] parent, byte[] name) {
        if (parent.length == 1 && parent[0] == '/') {
            return Fs.concat(parent, name);
        }
        byte[] joined = Arrays.copyOf(parent, parent.length + 1 + name.length);
        joined[parent.length] = '/';
        System.arraycopy(name, 0, joined, parent.length + 1, name.length);
        return joined;
    }

    /** The last component of the path (empty for the root). */
    public byte[] name() {
        int slash = path.length - 1;
        while (slash >= 0 && path[slash] != '/') {
            slash--;
        }
        return Arrays.copyOfRange(path, slash + 1, path.length);
    }
}
