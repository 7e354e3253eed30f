package io.tmount.image;

import io.tmount.os.LinuxFiles;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;

/**
 * A raw image file served as a block device, with positional I/O so concurrent requests never contend for a
 * file position. TRIM and zeroing punch holes, so the file stays sparse. Owns its file descriptors, not the file.
 */
public final class FileImage implements BlockImage, LocalAccess {

    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    private final Path path;
    private final FileChannel channel;
    private final long size;
    private final boolean readOnly;
    private final int fd; // for punching and finding holes; read-write unless the image is read-only

    private FileImage(Path path, FileChannel channel, long size, boolean readOnly, int fd) {
        this.path = path;
        this.channel = channel;
        this.size = size;
        this.readOnly = readOnly;
        this.fd = fd;
    }

    public static FileImage open(Path path, boolean readOnly) throws IOException {
        Set<StandardOpenOption> options = readOnly
                ? Set.of(StandardOpenOption.READ)
                : Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileChannel channel = FileChannel.open(path, options);
        try {
            int fd = readOnly ? LinuxFiles.openReadOnly(path) : LinuxFiles.openReadWrite(path);
            return new FileImage(path, channel, channel.size(), readOnly, fd);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public void read(ByteBuffer dst, long offset) throws IOException {
        long position = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, position);
            if (n < 0) {
                throw new EOFException(path + " is shorter than its size " + size + " (read at " + position + ")");
            }
            position += n;
        }
    }

    @Override
    public void write(ByteBuffer src, long offset) throws IOException {
        checkWritable();
        long position = offset;
        while (src.hasRemaining()) {
            position += channel.write(src, position);
        }
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        checkWritable();
        if (length > 0 && !LinuxFiles.punchHoleIfSupported(fd, offset, length)) {
            writeZeroes(offset, length, true); // a filesystem without holes: TRIM is only a hint, zeros are fine
        }
    }

    @Override
    public void writeZeroes(long offset, long length, boolean allocate) throws IOException {
        checkWritable();
        if (length == 0 || (!allocate && LinuxFiles.punchHoleIfSupported(fd, offset, length))) {
            return;
        }
        long position = offset;
        long end = offset + length;
        while (position < end) {
            ByteBuffer zeros = ZEROS.duplicate();
            zeros.limit((int) Math.min(ZERO_CHUNK, end - position));
            while (zeros.hasRemaining()) {
                position += channel.write(zeros, position);
            }
        }
    }

    @Override
    public void flush() throws IOException {
        if (!readOnly) {
            channel.force(false);
        }
    }

    @Override
    public boolean transfersDirectly(long offset, long length) {
        return true;
    }

    @Override
    public long transferTo(long offset, int length, WritableByteChannel target) throws IOException {
        return Sendfile.send(channel, offset, length, target, path);
    }

    @Override
    public boolean readsLocally(long offset, long length) {
        return true;
    }

    @Override
    public boolean writesLocally(long offset, long length) {
        return !readOnly;
    }

    /** Holes of the sparse file are {@link Extent#SPARSE}. */
    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        Extents out = new Extents();
        SparseFiles.extents(fd, offset, length, out);
        return out.list();
    }

    @Override
    public void close() throws IOException {
        try {
            channel.close();
        } finally {
            LinuxFiles.close(fd);
        }
    }

    private void checkWritable() throws IOException {
        if (readOnly) {
            throw new IOException(path + " is open read-only");
        }
    }
}
