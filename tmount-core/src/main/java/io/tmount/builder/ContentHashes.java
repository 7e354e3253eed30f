package io.tmount.builder;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The SHA-256 of files of build contexts, remembered by what their inode says of them (device, inode, size,
 * modification and change times, to the nanosecond), as BuildKit remembers its content hashes: a rebuild stats an
 * unchanged context instead of reading it. The change time moves on every write and every metadata change and
 * cannot be set back by a user, so a file changed in any way is read again. Kept in memory by the daemon, for as
 * many files as {@link #MAX_FILES}, least recently used first out; shared by its builds.
 */
final class ContentHashes {

    static final int MAX_FILES = 200_000;
    /** How long after its last change a file's hash is remembered: past any file system's clock tick (1 s at most). */
    static final java.time.Duration SETTLE = java.time.Duration.ofSeconds(3);

    private final long settleNanos;

    /** What the inode said when the file was hashed. */
    private record Stamp(Object fileKey, long size, long modified, long changed) {
    }

    private record Known(Stamp stamp, String sha256) {
    }

    private final java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
    private final Map<Path, Known> known = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Path, Known> eldest) {
            return size() > MAX_FILES;
        }
    };

    ContentHashes() {
        this(SETTLE);
    }

    ContentHashes(java.time.Duration settle) {
        this.settleNanos = settle.toNanos();
    }

    /** The file's SHA-256, read only when its inode says it changed since it was last read (or never was). */
    String sha256(Path file) throws IOException {
        Path absolute = file.toAbsolutePath();
        Stamp before = stamp(absolute);
        synchronized (known) {
            Known k = known.get(absolute);
            if (k != null && k.stamp().equals(before)) {
                return k.sha256();
            }
        }
        String sha = read(absolute);
        reads.incrementAndGet();
        // unchanged while it was read, and not changed so lately that a change within the same tick of the file
        // system's clock could leave its times as they are (git's "racily clean" files): then the hash is the file's
        if (stamp(absolute).equals(before) && settled(before)) {
            synchronized (known) {
                known.put(absolute, new Known(before, sha));
            }
        }
        return sha;
    }

    /** Whether the file's last change is older than any file system's time granularity (a coarse one is 1 s). */
    private boolean settled(Stamp stamp) {
        long now = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(System.currentTimeMillis());
        return now - Math.max(stamp.modified(), stamp.changed()) >= settleNanos;
    }

    /** How many files were read so far (the rest came from what was remembered). */
    long filesRead() {
        return reads.get();
    }

    private static Stamp stamp(Path file) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino,size,lastModifiedTime,ctime",
                LinkOption.NOFOLLOW_LINKS);
        return new Stamp(a.get("dev") + ":" + a.get("ino"), (Long) a.get("size"), nanos(a.get("lastModifiedTime")),
                nanos(a.get("ctime")));
    }

    private static long nanos(Object time) {
        FileTime t = (FileTime) time;
        return t.to(java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private static String read(Path file) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
