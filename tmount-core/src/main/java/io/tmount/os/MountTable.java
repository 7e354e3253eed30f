package io.tmount.os;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The kernel's view of what is mounted where, read from a mountinfo file (normally /proc/self/mountinfo). */
public final class MountTable {

    /** One line of mountinfo: the mount's own options, and its filesystem's (superblock's). */
    public record Entry(Path mountPoint, String fsType, String source, String options, String superOptions) {

        /**
         * Whether the filesystem went read-only after an error while mounted writable: ext4 marks an aborted journal
         * {@code emergency_ro} (older kernels flip the superblock to {@code ro}).
         */
        public boolean wentReadOnly() {
            List<String> mine = List.of(options.split(","));
            List<String> its = List.of(superOptions.split(","));
            return mine.contains("rw") && (its.contains("emergency_ro") || its.contains("ro"));
        }
    }

    private final Path mountInfo;

    public MountTable(Path mountInfo) {
        this.mountInfo = mountInfo;
    }

    public static MountTable ofThisProcess() {
        return new MountTable(Path.of("/proc/self/mountinfo"));
    }

    public List<Entry> entries() {
        try {
            List<Entry> entries = new ArrayList<>();
            for (String line : Files.readAllLines(mountInfo)) {
                parse(line).ifPresent(entries::add);
            }
            return entries;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + mountInfo, e);
        }
    }

    /** The topmost mount at exactly this path, if any. */
    public Optional<Entry> mountAt(Path path) {
        Entry found = null;
        for (Entry entry : entries()) {
            if (entry.mountPoint().equals(path)) {
                found = entry; // later lines are mounted on top of earlier ones
            }
        }
        return Optional.ofNullable(found);
    }

    public boolean isMountPoint(Path path) {
        return mountAt(path).isPresent();
    }

    /** Every mount at or below the path. */
    public List<Entry> mountsUnder(Path path) {
        return entries().stream().filter(e -> e.mountPoint().startsWith(path)).toList();
    }

    // Format: id parent major:minor root mountpoint options [optional fields] - fstype source superoptions
    static Optional<Entry> parse(String line) {
        String[] fields = line.split(" ");
        int dash = -1;
        for (int i = 6; i < fields.length; i++) {
            if (fields[i].equals("-")) {
                dash = i;
                break;
            }
        }
        if (fields.length < 7 || dash < 0 || dash + 2 >= fields.length) {
            return Optional.empty();
        }
        return Optional.of(new Entry(Path.of(unescape(fields[4])), unescape(fields[dash + 1]),
                unescape(fields[dash + 2]), fields[5], dash + 3 < fields.length ? fields[dash + 3] : ""));
    }

    /** mountinfo writes space, tab, newline and backslash as three octal digits after a backslash. */
    static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1) && isOctal(field, i + 2) && isOctal(field, i + 3)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int i) {
        return i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '7';
    }
}
