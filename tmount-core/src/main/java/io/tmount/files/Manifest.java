package io.tmount.files;

import java.io.IOException;
import java.util.Base64;
import java.util.Map;

/**
 * A tree as text, one line per entry in tree order (depth first, names bytewise), in mtree's syntax (as systemd-dissect --mtree writes
 * it): {@code ./etc/hostname type=file mode=0644 uid=0 gid=0 size=12 sha256digest=...}. Two builds' manifests compare
 * with any diff tool. A link adds {@code link=TARGET}, a device {@code device=MAJOR,MINOR}, a file with other names
 * {@code nlink=N}; {@code time=} is written only when asked (it differs between otherwise equal builds), and
 * extended attributes as {@code xattr.NAME=BASE64}.
 */
public final class Manifest {

    private final FileContent content;
    private final boolean hash;
    private final boolean times;
    private final Appendable out;

    public Manifest(FileContent content, boolean hash, boolean times, Appendable out) {
        this.content = content;
        this.hash = hash;
        this.times = times;
        this.out = out;
    }

    /** Writes the line of one entry; {@code dirFd} and {@code name} open it for its hash. */
    public void write(FileEntry entry, int dirFd, byte[] name) throws IOException {
        Fs.Stat stat = entry.stat();
        StringBuilder line = new StringBuilder(128);
        line.append(entry.path().length == 1 ? "." : "." + Names.mtree(entry.path()));
        line.append(" type=").append(stat.type().id());
        line.append(" mode=").append(String.format("%04o", stat.mode()));
        line.append(" uid=").append(Integer.toUnsignedString(stat.uid()));
        line.append(" gid=").append(Integer.toUnsignedString(stat.gid()));
        switch (stat.type()) {
            case FILE -> {
                if (stat.nlink() > 1) {
                    line.append(" nlink=").append(stat.nlink());
                }
                line.append(" size=").append(stat.size());
            }
            case LINK -> line.append(" link=").append(Names.mtree(entry.target()));
            case CHAR, BLOCK -> line.append(" device=").append(Integer.toUnsignedString(stat.rdevMajor())).append(',')
                    .append(Integer.toUnsignedString(stat.rdevMinor()));
            default -> {
            }
        }
        if (times) {
            line.append(" time=").append(stat.mtimeSeconds()).append('.')
                    .append(String.format("%09d", stat.mtimeNanos()));
        }
        if (hash && stat.type() == Fs.Type.FILE) {
            line.append(" sha256digest=").append(content.sha256(dirFd, name));
        }
        for (Map.Entry<String, byte[]> xattr : entry.xattrs().entrySet()) {
            line.append(" xattr.").append(Names.mtree(xattr.getKey().getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)))
                    .append('=').append(Base64.getEncoder().encodeToString(xattr.getValue()));
        }
        out.append(line).append('\n');
    }
}
