package io.tmount.files;

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
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * The system calls the file tools read a build's tree with, on directory descriptors and names as bytes: a name is
 * whatever bytes ext4 holds (not necessarily UTF-8, possibly with newlines), which {@code java.nio.file} would mangle
 * under a non-UTF-8 locale. Nothing here follows a symbolic link except {@link #openInRoot}, which resolves links
 * the way a chroot would (openat2's RESOLVE_IN_ROOT), so a link pointing outside a build's root never leads outside.
 * Linux only; the layouts are the kernel's (statx, linux_dirent64, fiemap, open_how), the same on every
 * architecture. Two open flags are not: arm and arm64 number O_DIRECTORY and O_NOFOLLOW their own way.
 */
public final class Fs {

    public static final int O_RDONLY = 0;
    private static final boolean ARM = System.getProperty("os.arch").startsWith("aarch64")
            || System.getProperty("os.arch").startsWith("arm");
    public static final int O_DIRECTORY = ARM ? 0x4000 : 0x10000;
    public static final int O_NOFOLLOW = ARM ? 0x8000 : 0x20000;
    public static final int O_PATH = 0x200000;
    private static final int O_CLOEXEC = 0x80000;
    private static final int AT_FDCWD = -100;
    private static final int AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int AT_EMPTY_PATH = 0x1000;
    private static final int STATX_BASIC_STATS = 0x7ff;
    private static final long RESOLVE_NO_MAGICLINKS = 0x02;
    private static final long RESOLVE_IN_ROOT = 0x10;
    private static final long SYS_OPENAT2 = 437; // the same number on every architecture (a post-5.1 syscall)
    private static final long FS_IOC_FIEMAP = 0xC020660BL;
    private static final int ERANGE = 34;
    private static final int ENODATA = 61;
    private static final int EOPNOTSUPP = 95;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final long STATX_ATTR_ENCRYPTED = 0x800;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option ERRNO_OPTION = Linker.Option.captureCallState("errno");
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final java.lang.foreign.AddressLayout ADDRESS = ValueLayout.ADDRESS;

    private static final MethodHandle OPENAT = handle("openat", FunctionDescriptor.of(INT, INT, ADDRESS, INT, INT),
            Linker.Option.firstVariadicArg(3));
    private static final MethodHandle SYSCALL4 = handle("syscall",
            FunctionDescriptor.of(LONG, LONG, LONG, ADDRESS, ADDRESS, LONG), Linker.Option.firstVariadicArg(1));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("close"),
            FunctionDescriptor.of(INT, INT));
    private static final MethodHandle STATX = handle("statx",
            FunctionDescriptor.of(INT, INT, ADDRESS, INT, INT, ADDRESS));
    private static final MethodHandle GETDENTS = handle("getdents64", FunctionDescriptor.of(LONG, INT, ADDRESS, LONG));
    private static final MethodHandle READLINKAT = handle("readlinkat",
            FunctionDescriptor.of(LONG, INT, ADDRESS, ADDRESS, LONG));
    private static final MethodHandle READ = handle("read", FunctionDescriptor.of(LONG, INT, ADDRESS, LONG));
    private static final MethodHandle LLISTXATTR = handle("llistxattr",
            FunctionDescriptor.of(LONG, ADDRESS, ADDRESS, LONG));
    private static final MethodHandle LGETXATTR = handle("lgetxattr",
            FunctionDescriptor.of(LONG, ADDRESS, ADDRESS, ADDRESS, LONG));
    // the start of a walk is named by /proc/self/fd/N itself, a magic link these follow (the l* ones would not)
    private static final MethodHandle LISTXATTR = handle("listxattr",
            FunctionDescriptor.of(LONG, ADDRESS, ADDRESS, LONG));
    private static final MethodHandle GETXATTR = handle("getxattr",
            FunctionDescriptor.of(LONG, ADDRESS, ADDRESS, ADDRESS, LONG));
    private static final MethodHandle IOCTL = handle("ioctl", FunctionDescriptor.of(INT, INT, LONG, ADDRESS),
            Linker.Option.firstVariadicArg(2));
    private static final MethodHandle STRERROR = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("strerror"),
            FunctionDescriptor.of(ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)),
                    INT));

    private Fs() {
    }

    private static MethodHandle handle(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = Arrays.copyOf(options, options.length + 1);
        all[options.length] = ERRNO_OPTION;
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor, all);
    }

    /** A failed call, with errno. */
    public static final class FsException extends IOException {
        private final int errno;

        FsException(String call, int errno) {
            super(call + ": " + strerror(errno));
            this.errno = errno;
        }

        public int errno() {
            return errno;
        }
    }

    /** The type of a directory entry, from the mode's S_IFMT bits. */
    public enum Type {
        FILE("file"), DIR("dir"), LINK("link"), CHAR("char"), BLOCK("block"), FIFO("fifo"), SOCKET("socket");

        private final String id;

        Type(String id) {
            this.id = id;
        }

        public String id() {
            return id;
        }

        static Type ofMode(int mode) {
            return switch (mode & 0170000) {
                case 0100000 -> FILE;
                case 0040000 -> DIR;
                case 0120000 -> LINK;
                case 0020000 -> CHAR;
                case 0060000 -> BLOCK;
                case 0010000 -> FIFO;
                case 0140000 -> SOCKET;
                default -> throw new IllegalArgumentException("unknown file type in mode " + Integer.toOctalString(mode));
            };
        }
    }

    /** What statx says of one entry (the fields the file tools use). */
    public record Stat(Type type, int mode, int uid, int gid, long size, long nlink, long inode, int rdevMajor,
                       int rdevMinor, long mtimeSeconds, int mtimeNanos, long blocks, long device,
                       long attributes) {
        /** fscrypt: its blocks hold ciphertext whose key depends on the inode, whatever FIEMAP says. */
        public boolean encrypted() {
            return (attributes & STATX_ATTR_ENCRYPTED) != 0;
        }
    }

    /** One extent of a file, as FIEMAP reports it: bytes {@code [logical, logical+length)} at {@code physical}. */
    public record Extent(long logical, long physical, long length, int flags) {
        public static final int LAST = 0x1;
        /** Flags under which the physical address does not say where the bytes are: unknown, delayed, encoded, encrypted, unaligned, inline, tail. */
        public static final int NOT_PLAIN = 0x2 | 0x4 | 0x8 | 0x80 | 0x100 | 0x200 | 0x400;
    }

    public static int openAt(int dirFd, byte[] name, int flags) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPENAT.invokeExact(state, dirFd, cString(arena, name), flags | O_CLOEXEC, 0);
            if (fd < 0) {
                throw new FsException("open " + Names.display(name), errno(state));
            }
            return fd;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("openat failed", t);
        }
    }

    /** Opens a directory of this host by its absolute path (one of tmount's own, so its name is plain). */
    public static int openDirectory(java.nio.file.Path directory) throws IOException {
        return openAt(AT_FDCWD, directory.toString().getBytes(StandardCharsets.UTF_8), O_RDONLY | O_DIRECTORY);
    }

    /**
     * Opens {@code path} below the root directory {@code rootFd} as if that were {@code /}: absolute links and
     * {@code ..} stop at it (openat2 with RESOLVE_IN_ROOT; magic links such as /proc/self/root are refused).
     */
    public static int openInRoot(int rootFd, byte[] path, int flags) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment how = arena.allocate(24, 8);
            how.set(LONG, 0, (long) (flags | O_CLOEXEC));
            how.set(LONG, 8, 0L);
            how.set(LONG, 16, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment cPath = cString(arena, path);
            for (int attempt = 0; ; attempt++) {
                long fd = (long) SYSCALL4.invokeExact(state, SYS_OPENAT2, (long) rootFd, cPath, how, 24L);
                if (fd >= 0) {
                    return (int) fd;
                }
                int errno = errno(state);
                // EAGAIN: a rename somewhere raced a ".." lookup, which RESOLVE_IN_ROOT then refuses to trust
                if ((errno != EAGAIN && errno != EINTR) || attempt >= 16) {
                    throw new FsException(Names.display(path), errno);
                }
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("openat2 failed", t);
        }
    }

    public static void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            // the descriptor is gone either way
        }
    }

    /** statx of {@code name} in {@code dirFd}, not following a link; an empty name means {@code dirFd} itself. */
    public static Stat stat(int dirFd, byte[] name) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(256, 8);
            MemorySegment state = arena.allocate(CALL_STATE);
            int flags = AT_SYMLINK_NOFOLLOW | (name.length == 0 ? AT_EMPTY_PATH : 0);
            int rc = (int) STATX.invokeExact(state, dirFd, cString(arena, name), flags, STATX_BASIC_STATS, buffer);
            if (rc != 0) {
                throw new FsException("stat " + Names.display(name), errno(state));
            }
            int mode = Short.toUnsignedInt(buffer.get(ValueLayout.JAVA_SHORT, 28));
            return new Stat(Type.ofMode(mode), mode & 07777, buffer.get(INT, 20), buffer.get(INT, 24),
                    buffer.get(LONG, 40), Integer.toUnsignedLong(buffer.get(INT, 16)), buffer.get(LONG, 32),
                    buffer.get(INT, 128), buffer.get(INT, 132), buffer.get(LONG, 112), buffer.get(INT, 120),
                    buffer.get(LONG, 48), (Integer.toUnsignedLong(buffer.get(INT, 136)) << 32)
                            | Integer.toUnsignedLong(buffer.get(INT, 140)), buffer.get(LONG, 8));
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("statx failed", t);
        }
    }

    /** The names in an open directory, without {@code .} and {@code ..}, sorted bytewise (unsigned). */
    public static List<byte[]> list(int dirFd) throws IOException {
        List<byte[]> names = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(64 << 10, 8);
            MemorySegment state = arena.allocate(CALL_STATE);
            while (true) {
                long n = (long) GETDENTS.invokeExact(state, dirFd, buffer, buffer.byteSize());
                if (n < 0) {
                    int errno = errno(state);
                    if (errno == EINTR) {
                        continue;
                    }
                    throw new FsException("read directory", errno);
                }
                if (n == 0) {
                    break;
                }
                for (long at = 0; at < n; ) {
                    int length = Short.toUnsignedInt(buffer.get(ValueLayout.JAVA_SHORT, at + 16));
                    long nameStart = at + 19;
                    long nameEnd = nameStart;
                    while (buffer.get(ValueLayout.JAVA_BYTE, nameEnd) != 0) {
                        nameEnd++;
                    }
                    byte[] name = buffer.asSlice(nameStart, nameEnd - nameStart).toArray(ValueLayout.JAVA_BYTE);
                    if (!isDot(name)) {
                        names.add(name);
                    }
                    at += length;
                }
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("getdents64 failed", t);
        }
        names.sort(Arrays::compareUnsigned);
        return names;
    }

    private static boolean isDot(byte[] name) {
        return (name.length == 1 && name[0] == '.') || (name.length == 2 && name[0] == '.' && name[1] == '.');
    }

    /** The target of the link {@code name} in {@code dirFd}, as stored. */
    public static byte[] readLink(int dirFd, byte[] name) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment cName = cString(arena, name);
            for (long size = 4096; ; size *= 16) { // ext4 allows a target up to a block, 64 KiB at most
                MemorySegment buffer = arena.allocate(size + 1);
                long n = (long) READLINKAT.invokeExact(state, dirFd, cName, buffer, size + 1);
                if (n < 0) {
                    throw new FsException("readlink " + Names.display(name), errno(state));
                }
                if (n <= size) {
                    return buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
                }
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("readlinkat failed", t);
        }
    }

    /** Reads up to {@code buffer.byteSize()} bytes; 0 at the end. */
    public static int read(int fd, MemorySegment buffer) throws IOException {
        try {
            while (true) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment state = arena.allocate(CALL_STATE);
                    long n = (long) READ.invokeExact(state, fd, buffer, buffer.byteSize());
                    if (n >= 0) {
                        return (int) n;
                    }
                    int errno = errno(state);
                    if (errno != EINTR) {
                        throw new FsException("read", errno);
                    }
                }
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("read failed", t);
        }
    }

    /**
     * The extended attributes of {@code name} in {@code dirFd} (a link's own, not its target's), by name. Reached
     * through /proc/self/fd/N, the one way to read a symlink's attributes relative to a directory descriptor.
     */
    public static TreeMap<String, byte[]> xattrs(int dirFd, byte[] name) throws IOException {
        TreeMap<String, byte[]> attributes = new TreeMap<>();
        byte[] prefix = ("/proc/self/fd/" + dirFd + "/").getBytes(StandardCharsets.US_ASCII);
        boolean self = name.length == 0;
        byte[] path = self ? Arrays.copyOf(prefix, prefix.length - 1) : concat(prefix, name);
        MethodHandle list = self ? LISTXATTR : LLISTXATTR;
        MethodHandle get = self ? GETXATTR : LGETXATTR;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = cString(arena, path);
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment names = MemorySegment.NULL;
            long n;
            long size = 1024;
            while (true) {
                names = arena.allocate(size);
                n = (long) list.invokeExact(state, cPath, names, size);
                if (n >= 0) {
                    break;
                }
                int errno = errno(state);
                if (errno == EOPNOTSUPP) {
                    return attributes;
                }
                if (errno != ERANGE || size >= (1 << 20)) {
                    throw new FsException("list attributes of " + Names.display(name), errno);
                }
                size *= 8;
            }
            for (long at = 0; at < n; ) {
                long end = at;
                while (names.get(ValueLayout.JAVA_BYTE, end) != 0) {
                    end++;
                }
                MemorySegment attribute = names.asSlice(at, end - at + 1);
                String attributeName = new String(names.asSlice(at, end - at).toArray(ValueLayout.JAVA_BYTE),
                        StandardCharsets.ISO_8859_1);
                at = end + 1;
                byte[] value = attribute(get, state, cPath, attribute, arena, name, attributeName);
                if (value != null) {
                    attributes.put(attributeName, value);
                }
            }
            return attributes;
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("llistxattr failed", t);
        }
    }

    private static byte[] attribute(MethodHandle get, MemorySegment state, MemorySegment cPath,
                                    MemorySegment attribute, Arena arena, byte[] name, String attributeName)
            throws Throwable {
        long size = 256;
        while (true) {
            MemorySegment value = arena.allocate(size);
            long n = (long) get.invokeExact(state, cPath, attribute, value, size);
            if (n >= 0) {
                return value.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
            }
            int errno = errno(state);
            if (errno == ENODATA) {
                return null; // removed between list and get: not on a read-only mount, but harmless
            }
            if (errno != ERANGE || size >= (1 << 20)) {
                throw new FsException("read attribute " + attributeName + " of " + Names.display(name), errno);
            }
            size *= 16;
        }
    }

    /**
     * Where a file's bytes lie on the filesystem's device (FS_IOC_FIEMAP, synced), or null where the filesystem does
     * not say (fuse2fs, for one).
     */
    public static List<Extent> extents(int fd) throws IOException {
        List<Extent> extents = new ArrayList<>();
        int batch = 256;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment map = arena.allocate(32 + 56L * batch, 8);
            MemorySegment state = arena.allocate(CALL_STATE);
            long start = 0;
            while (true) {
                map.fill((byte) 0);
                map.set(LONG, 0, start);
                map.set(LONG, 8, -1L); // FIEMAP_MAX_OFFSET - start, near enough: to the end
                map.set(INT, 16, 1); // FIEMAP_FLAG_SYNC
                map.set(INT, 24, batch);
                int rc = (int) IOCTL.invokeExact(state, fd, FS_IOC_FIEMAP, map);
                if (rc != 0) {
                    int errno = errno(state);
                    if (errno == EOPNOTSUPP || errno == 25 /* ENOTTY */ || errno == 22 /* EINVAL */) {
                        return null;
                    }
                    throw new FsException("FIEMAP", errno);
                }
                int mapped = map.get(INT, 20);
                if (mapped == 0) {
                    return extents;
                }
                Extent last = null;
                for (int i = 0; i < mapped; i++) {
                    long at = 32 + 56L * i;
                    last = new Extent(map.get(LONG, at), map.get(LONG, at + 8), map.get(LONG, at + 16),
                            map.get(INT, at + 40));
                    extents.add(last);
                }
                if ((last.flags() & Extent.LAST) != 0) {
                    return extents;
                }
                start = last.logical() + last.length();
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("FIEMAP failed", t);
        }
    }

    private static MemorySegment cString(Arena arena, byte[] bytes) {
        MemorySegment segment = arena.allocate(bytes.length + 1L);
        MemorySegment.copy(bytes, 0, segment, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return segment;
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] joined = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, joined, a.length, b.length);
        return joined;
    }

    private static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    private static String strerror(int errno) {
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.getString(0);
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
