package io.tmount.files;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/** Reads regular files of a tree: hashes them, compares two, says where their bytes lie. Not thread-safe. */
public final class FileContent implements AutoCloseable {

    private static final int BUFFER = 1 << 20;

    private final Runnable between;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment first = arena.allocate(BUFFER, 4096);
    private final MemorySegment second = arena.allocate(BUFFER, 4096);
    private long bytesRead;

    public FileContent() {
        this(() -> { });
    }

    /** {@code between}: run before each MiB read (a caller's check whether to stop: it throws to stop). */
    public FileContent(Runnable between) {
        this.between = between;
    }

    /** The SHA-256 of file {@code name} in {@code dirFd}, in hex. */
    public String sha256(int dirFd, byte[] name) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        int fd = openFile(dirFd, name);
        try {
            int n;
            while ((n = Fs.read(fd, first)) > 0) {
                between.run();
                bytesRead += n;
                digest.update(first.asSlice(0, n).asByteBuffer());
            }
        } finally {
            Fs.close(fd);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Whether two files hold the same bytes. */
    public boolean same(int dirFdA, byte[] nameA, int dirFdB, byte[] nameB) throws IOException {
        int a = openFile(dirFdA, nameA);
        try {
            int b = openFile(dirFdB, nameB);
            try {
                while (true) {
                    between.run();
                    int n = fill(a, first);
                    int m = fill(b, second);
                    bytesRead += n + m;
                    if (n != m || first.asSlice(0, n).mismatch(second.asSlice(0, m)) >= 0) {
                        return false;
                    }
                    if (n == 0) {
                        return true;
                    }
                }
            } finally {
                Fs.close(b);
            }
        } finally {
            Fs.close(a);
        }
    }

    /** Where the file's bytes lie on the device, or null where the filesystem does not say. */
    public List<Fs.Extent> extents(int dirFd, byte[] name) throws IOException {
        int fd = openFile(dirFd, name);
        try {
            return Fs.extents(fd);
        } finally {
            Fs.close(fd);
        }
    }

    /** Bytes read so far (both files of a comparison count). */
    public long bytesRead() {
        return bytesRead;
    }

    /** Reads until the buffer is full or the file ends. */
    private static int fill(int fd, MemorySegment buffer) throws IOException {
        int total = 0;
        while (total < buffer.byteSize()) {
            int n = Fs.read(fd, buffer.asSlice(total));
            if (n == 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    private static int openFile(int dirFd, byte[] name) throws IOException {
        return Fs.openAt(dirFd, name, Fs.O_RDONLY | Fs.O_NOFOLLOW);
    }

    @Override
    public void close() {
        arena.close();
    }
}
