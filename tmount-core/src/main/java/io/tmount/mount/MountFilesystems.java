package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.os.Commands;
import io.tmount.os.FilesystemMounter;
import io.tmount.os.HostTools;
import io.tmount.os.UserspaceExt4;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Puts a mount's filesystem onto its path and takes it off, in the mount's {@link FilesystemMode}: the kernel's ext4
 * driver, or a sandboxed fuse2fs whose work files live in the mount's runtime dir. Also holds a writable filesystem
 * still for a commit: the kernel's is frozen; fuse2fs, which cannot be frozen and writes without a journal, is
 * unmounted (it flushes and exits) and mounted again afterwards.
 */
final class MountFilesystems {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(MountFilesystems.class);
    /** What covers a userspace mount's path while a commit stores its build. */
    private static final Path COMMIT_COVER = Path.of("tmount-committing");
    private static final Duration COVER_TIMEOUT = Duration.ofSeconds(30);

    /** How long a fuse2fs gets to flush and exit after its unmount. */
    private static final Duration FUSE2FS_EXIT = Duration.ofSeconds(60);

    private final FilesystemMounter kernel;
    private final UserspaceExt4 userspace;
    private final Path runtimeMounts;

    MountFilesystems(FilesystemMounter kernel, UserspaceExt4 userspace, Path runtimeMounts) {
        this.kernel = kernel;
        this.userspace = userspace;
        this.runtimeMounts = runtimeMounts;
    }

    private Path workDir(MountInfo info) {
        return runtimeMounts.resolve(info.id()).resolve("fs");
    }

    void mount(MountInfo info, Path device) throws IOException {
        switch (info.fs()) {
            case KERNEL -> kernel.mount(device, info.mountPath(), info.readOnly());
            case USERSPACE -> userspace.mount(device, info.mountPath(), info.readOnly(), workDir(info));
        }
    }

    /** Unmounts (retrying while busy); for fuse2fs, also waits until it has flushed and exited. */
    void unmount(MountInfo info) throws IOException {
        kernel.unmount(info.mountPath());
        awaitFuse2fs(info);
    }

    void unmountLazily(MountInfo info) throws IOException {
        kernel.unmountLazily(info.mountPath());
        awaitFuse2fs(info);
    }

    /** Unmounts the path if what is mounted there comes from {@code device}; lazily if it stays busy. */
    void unmountIfFrom(MountInfo info, Path device) throws IOException {
        kernel.unmountIfFrom(info.mountPath(), device);
        awaitFuse2fs(info);
    }

    private void awaitFuse2fs(MountInfo info) throws IOException {
        if (info.fs() == FilesystemMode.USERSPACE && !userspace.awaitExit(workDir(info), FUSE2FS_EXIT)) {
            throw new IOException("fuse2fs serving " + info.mountPath() + " did not exit within "
                    + FUSE2FS_EXIT.toSeconds() + " s of the unmount and was killed: its last writes may not have "
                    + "reached the device");
        }
    }

    /** Whether a writable filesystem stopped writing after an error: went read-only, or its fuse2fs died. */
    boolean wentReadOnly(MountInfo info) {
        return switch (info.fs()) {
            case KERNEL -> kernel.wentReadOnly(info.mountPath());
            case USERSPACE -> !info.readOnly() && userspace.problem(workDir(info)).isPresent();
        };
    }

    /** What is wrong with the filesystem's own process, if it has one. */
    Optional<String> problem(MountInfo info) {
        return info.fs() == FilesystemMode.USERSPACE ? userspace.problem(workDir(info)) : Optional.empty();
    }

    /** Writes dirty data to the device (fuse2fs: a no-op, its flush comes with {@link #holdStill}). */
    void sync(MountInfo info) throws IOException {
        if (info.fs() == FilesystemMode.KERNEL) {
            kernel.sync(info.mountPath());
        }
    }

    /** Whether {@link #sync} puts every change on the device (fuse2fs keeps some until it exits). */
    boolean syncReachesTheDevice(MountInfo info) {
        return info.fs() == FilesystemMode.KERNEL;
    }

    /** Tells the device which blocks are free (the kernel's fstrim; fuse2fs cannot). */
    void trim(MountInfo info) throws IOException {
        if (info.fs() == FilesystemMode.KERNEL) {
            kernel.trim(info.mountPath());
        }
    }

    /** Holds the filesystem still, every change on the device, until the returned hold is released. */
    Hold holdStill(MountInfo info) throws IOException {
        Path path = info.mountPath();
        return switch (info.fs()) {
            case KERNEL -> {
                kernel.freeze(path);
                yield () -> kernel.thaw(path);
            }
            case USERSPACE -> {
                try {
                    kernel.unmount(path);
                } catch (TmountException busy) {
                    throw new TmountException(busy.kind(), "a commit of a userspace-mode mount takes its filesystem "
                            + "off " + path + " while the build is stored (fuse2fs cannot be frozen), and " + path
                            + " is in use: " + busy.getMessage());
                }
                // while the build is stored the path would be a plain folder of the host: writes there would land
                // on the host's disk and vanish under the remount; an empty read-only tmpfs refuses them (EROFS)
                cover(path);
                Hold remount = () -> {
                    kernel.unmountIfFrom(path, COMMIT_COVER);
                    try {
                        userspace.mount(info.devicePath(), path, false, workDir(info));
                    } catch (IOException | RuntimeException e) {
                        cover(path); // not a bare host folder either way: writes there would be lost
                        throw e;
                    }
                };
                try {
                    awaitFuse2fs(info);
                } catch (IOException e) {
                    TmountException failed = TmountException.failed(e, "cannot commit %s: fuse2fs did not flush and "
                            + "exit", path);
                    try {
                        remount.release(); // back in service, and nothing stored: the blocks may be half flushed
                    } catch (IOException | RuntimeException remountFailed) {
                        failed.addSuppressed(remountFailed);
                    }
                    throw failed;
                }
                yield remount;
            }
        };
    }

    private void cover(Path path) {
        try {
            Commands.check(COVER_TIMEOUT, HostTools.require("mount", "mount", "commit").toString(), "-t", "tmpfs", "-o",
                    "ro,nosuid,nodev,noexec,mode=0555,size=4k", COMMIT_COVER.toString(), path.toString());
        } catch (IOException e) {
            log.warn("cannot cover {} while its build is stored: {}", path, e.getMessage());
        }
    }

    /** Removes a cover a commit cut short by a crash left on the mount's path. */
    void removeCommitCover(MountInfo info) throws IOException {
        kernel.unmountIfFrom(info.mountPath(), COMMIT_COVER);
    }

    void thawIfFrozen(MountInfo info) {
        if (info.fs() == FilesystemMode.KERNEL) {
            kernel.thawIfFrozen(info.mountPath());
        }
    }

    /** Releases a {@link #holdStill}: thaws, or mounts fuse2fs again. */
    interface Hold {
        void release() throws IOException;
    }
}
