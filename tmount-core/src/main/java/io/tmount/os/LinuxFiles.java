package io.tmount.os;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * The few Linux file calls the JDK does not offer, through the FFM API: punching holes (so TRIM frees
 * space in sparse files), finding them (SEEK_DATA/SEEK_HOLE) and read-ahead hints (posix_fadvise). The method handles are constants, looked up once.
 */
public final class LinuxFiles {

    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;
    private static final int EINVAL = 22;
    private static final int O_CLOEXEC = 0x80000;
    private static final int FALLOC_FL_KEEP_SIZE = 0x01;
    private static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    private static final int EOPNOTSUPP = 95;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("open"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle FALLOCATE = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("fallocate"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
            CAPTURE_ERRNO);
    private static final MethodHandle LSEEK = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("lseek"),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT),
            CAPTURE_ERRNO);
    private static final MethodHandle FADVISE = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("posix_fadvise"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final int POSIX_FADV_WILLNEED = 3;
    private static final MethodHandle CLOSE = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("close"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private LinuxFiles() {
    }

    /** Opens an existing file read-write and returns its descriptor; the caller closes it with {@link #close}. */
    /**
     * Whether a failed write ran out of space (ENOSPC, or EDQUOT of a quota): the JDK reports both only by their
     * strerror text.
     */
    public static boolean isNoSpace(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String message = String.valueOf(t.getMessage());
            if (message.contains("No space left on device") || message.contains("Disk quota exceeded")) {
                return true;
            }
        }
        return false;
    }

    public static int openReadWrite(Path file) throws IOException {
        return open(file, O_RDWR);
    }

    /** Opens an existing file read-only and returns its descriptor; the caller closes it with {@link #close}. */
    public static int openReadOnly(Path file) throws IOException {
        return open(file, O_RDONLY);
    }

    private static int open(Path file, int mode) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(file.toString()), mode | O_CLOEXEC, 0);
            if (fd < 0) {
                throw new IOException("open " + file + " failed: errno " + (int) ERRNO.get(state, 0L));
            }
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("open " + file + " failed", t);
        }
    }

    /** Deallocates a range so it reads as zeros, keeping the file size. */
    public static void punchHole(int fd, long offset, long length) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = (int) FALLOCATE.invokeExact(state, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
            if (rc != 0) {
                throw new IOException("fallocate(PUNCH_HOLE, " + offset + ", " + length + ") failed: errno "
                        + (int) ERRNO.get(state, 0L));
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("fallocate failed", t);
        }
    }

    /** Punches a hole; false (nothing done) where the filesystem cannot (EOPNOTSUPP), so callers write zeros. */
    public static boolean punchHoleIfSupported(int fd, long offset, long length) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int rc = (int) FALLOCATE.invokeExact(state, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
            if (rc == 0) {
                return true;
            }
            int errno = (int) ERRNO.get(state, 0L);
            if (errno == EOPNOTSUPP) {
                return false;
            }
            throw new IOException("fallocate(PUNCH_HOLE, " + offset + ", " + length + ") failed: errno " + errno);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("fallocate failed", t);
        }
    }

    /**
     * The data and holes of a file from {@code offset}: the start of the next data at or after it (SEEK_DATA), or
     * {@code end} when only a hole follows. Filesystems without hole tracking report everything as data.
     */
    public static long nextData(int fd, long offset, long end) throws IOException {
        long found = seek(fd, offset, SEEK_DATA);
        return found < 0 ? end : Math.min(found, end);
    }

    /** The start of the next hole at or after {@code offset} (the end of the file counts as one), capped at end. */
    public static long nextHole(int fd, long offset, long end) throws IOException {
        long found = seek(fd, offset, SEEK_HOLE);
        return found < 0 ? end : Math.min(found, end);
    }

    /** lseek; -1 when there is no such place (ENXIO: past the end, or no data after the offset). */
    private static long seek(int fd, long offset, int whence) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long rc = (long) LSEEK.invokeExact(state, fd, offset, whence);
            if (rc >= 0) {
                return rc;
            }
            int errno = (int) ERRNO.get(state, 0L);
            if (errno == ENXIO) {
                return -1;
            }
            if (errno == EINVAL) {
                return whence == SEEK_DATA ? offset : -1; // no hole tracking here: everything is data
            }
            throw new IOException("lseek(" + offset + ", " + (whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE")
                    + ") failed: errno " + errno);
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("lseek failed", t);
        }
    }

    /** Asks the kernel to start reading a range into the page cache (posix_fadvise WILLNEED); a hint, never fails. */
    public static void adviseWillNeed(int fd, long offset, long length) {
        try {
            int ignored = (int) FADVISE.invokeExact(fd, offset, length, POSIX_FADV_WILLNEED);
        } catch (Throwable t) {
            // a hint: the reads that follow work without it
        }
    }

    public static void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            // nothing useful to do: the descriptor is gone either way
        }
    }
}
