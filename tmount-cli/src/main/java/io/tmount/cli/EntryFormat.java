package io.tmount.cli;

import io.tmount.files.FileEntry;
import io.tmount.files.Fs;
import io.tmount.files.Names;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;

/** How the file commands show one entry: ls -l's columns, or a JSON object. Names are escaped ({@link Names}). */
final class EntryFormat {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .withZone(ZoneOffset.UTC);

    private EntryFormat() {
    }

    /** {@code drwxr-xr-x}: the type letter and permission bits, with setuid, setgid and sticky as ls shows them. */
    static String modeString(Fs.Stat stat) {
        char type = switch (stat.type()) {
            case FILE -> '-';
            case DIR -> 'd';
            case LINK -> 'l';
            case CHAR -> 'c';
            case BLOCK -> 'b';
            case FIFO -> 'p';
            case SOCKET -> 's';
        };
        int mode = stat.mode();
        StringBuilder text = new StringBuilder().append(type);
        String rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) {
            text.append((mode & (0400 >> i)) != 0 ? rwx.charAt(i) : '-');
        }
        special(text, 3, (mode & 04000) != 0, 's');
        special(text, 6, (mode & 02000) != 0, 's');
        special(text, 9, (mode & 01000) != 0, 't');
        return text.toString();
    }

    private static void special(StringBuilder text, int at, boolean set, char letter) {
        if (set) {
            text.setCharAt(at, text.charAt(at) == 'x' ? letter : Character.toUpperCase(letter));
        }
    }

    /** One ls -l line: mode, links, owner, group, size (or major, minor), modification time (UTC), name. */
    static String longLine(FileEntry entry, String name) {
        Fs.Stat stat = entry.stat();
        String size = stat.type() == Fs.Type.CHAR || stat.type() == Fs.Type.BLOCK
                ? Integer.toUnsignedString(stat.rdevMajor()) + ", " + Integer.toUnsignedString(stat.rdevMinor())
                : Long.toString(stat.size());
        String line = String.format("%s %3d %5s %5s %12s %s %s", modeString(stat), stat.nlink(),
                Integer.toUnsignedString(stat.uid()), Integer.toUnsignedString(stat.gid()), size,
                TIME.format(Instant.ofEpochSecond(stat.mtimeSeconds())), name);
        return entry.target() == null ? line : line + " -> " + Names.display(entry.target());
    }

    /** The entry as a JSON object (names escaped as {@link Names#display}). */
    static Map<String, Object> json(FileEntry entry) {
        Fs.Stat stat = entry.stat();
        Map<String, Object> object = new LinkedHashMap<>();
        object.put("path", entry.displayPath());
        object.put("type", stat.type().id());
        object.put("mode", String.format("%04o", stat.mode()));
        object.put("uid", Integer.toUnsignedLong(stat.uid()));
        object.put("gid", Integer.toUnsignedLong(stat.gid()));
        object.put("size", stat.size());
        object.put("nlink", stat.nlink());
        object.put("inode", stat.inode());
        object.put("mtime", Instant.ofEpochSecond(stat.mtimeSeconds(), stat.mtimeNanos()).toString());
        if (entry.target() != null) {
            object.put("target", Names.display(entry.target()));
        }
        if (stat.type() == Fs.Type.CHAR || stat.type() == Fs.Type.BLOCK) {
            object.put("device", Integer.toUnsignedString(stat.rdevMajor()) + ","
                    + Integer.toUnsignedString(stat.rdevMinor()));
        }
        if (!entry.xattrs().isEmpty()) {
            object.put("xattrs", entry.xattrs().keySet());
        }
        return object;
    }
}
