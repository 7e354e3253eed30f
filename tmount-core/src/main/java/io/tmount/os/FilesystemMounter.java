package io.tmount.os;

import io.tmount.TmountException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/** Mounts ext4 from a block device with mount(8) (nosuid,nodev always) and unmounts it, retrying while busy. */
public final class FilesystemMounter {

    private static final Logger log = LoggerFactory.getLogger(FilesystemMounter.class);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);

    private final MountTable mountTable;
    private final PathHolders holders;
    private final Duration busyRetry;

    public FilesystemMounter(MountTable mountTable, PathHolders holders, Duration busyRetry) {
        this.mountTable = mountTable;
        this.holders = holders;
        this.busyRetry = busyRetry;
    }

    public void mount(Path device, Path target, boolean readOnly) throws IOException {
        String mount = HostTools.require("mount", "mount", "mounting").toString();
        // a writable filesystem that meets an error stops writing (as a root filesystem's fstab usually asks) rather
        // than piling more writes onto what is damaged; its changes can still be committed at block level
        String options = readOnly ? "ro,nosuid,nodev" : "nosuid,nodev,errors=remount-ro";
        CommandResult result = Commands.run(COMMAND_TIMEOUT,
                List.of(mount, "-t", "ext4", "-o", options, device.toString(), target.toString()));
        if (result.succeeded()) {
            return;
        }
        if (readOnly) {
            // An image whose journal needs replaying cannot be mounted from a read-only device; without the
            // journal it still can, showing the last checkpointed state.
            CommandResult noJournal = Commands.run(COMMAND_TIMEOUT,
                    List.of(mount, "-t", "ext4", "-o", options + ",noload", device.toString(), target.toString()));
            if (noJournal.succeeded()) {
                log.warn("{} mounted read-only without replaying its journal (the image needs recovery)", target);
                return;
            }
        }
        throw new IOException("mount -t ext4 " + device + " " + target + " failed: " + result.firstErrorLine()
                + " (is the image an ext4 filesystem?)");
    }

    /**
     * Unmounts, retrying while the mount is busy; then fails with the processes that hold it. A path that is no
     * longer mounted counts as unmounted.
     */
    public void unmount(Path target) throws IOException {
        String umount = HostTools.require("umount", "mount", "unmounting").toString();
        long deadline = System.nanoTime() + busyRetry.toNanos();
        long sleep = 50;
        while (true) {
            if (!mountTable.isMountPoint(target)) {
                return;
            }
            CommandResult result = Commands.run(COMMAND_TIMEOUT, List.of(umount, target.toString()));
            if (result.succeeded() || !mountTable.isMountPoint(target)) {
                return;
            }
            boolean busy = result.stderr().contains("busy");
            if (!busy) {
                throw new IOException("umount " + target + " failed: " + result.firstErrorLine());
            }
            if (System.nanoTime() > deadline) {
                List<PathHolders.Holder> holding = holders.holding(target);
                String who = holding.isEmpty() ? "no process found holding it (a nested mount or a kernel user?)"
                        : "held by " + holding.stream().map(PathHolders.Holder::toString).collect(Collectors.joining(", "));
                throw new TmountException(TmountException.Kind.BUSY,
                        target + " is busy after " + busyRetry.toMillis() + " ms of retries: " + who);
            }
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while unmounting " + target);
            }
            sleep = Math.min(500, sleep * 2);
        }
    }

    /** Flushes the filesystem to its device and holds every write until {@link #thaw}: for a consistent commit. */
    /** Whether the filesystem at {@code target}, mounted writable, went read-only after an error. */
    public boolean wentReadOnly(Path target) {
        return mountTable.mountAt(target).map(MountTable.Entry::wentReadOnly).orElse(false);
    }

    public void freeze(Path target) throws IOException {
        Commands.check(COMMAND_TIMEOUT, HostTools.require("fsfreeze", "util-linux", "commit").toString(),
                "--freeze", target.toString());
    }

    /** Writes the filesystem's dirty data and journal to its device (syncfs). */
    public void sync(Path target) throws IOException {
        Commands.check(COMMAND_TIMEOUT, HostTools.require("sync", "coreutils", "commit").toString(), "--file-system",
                target.toString());
    }

    /** Discards the filesystem's free blocks (fstrim), so they reach the device as TRIM. */
    public void trim(Path target) throws IOException {
        Commands.check(COMMAND_TIMEOUT, HostTools.require("fstrim", "util-linux", "commit").toString(), target.toString());
    }

    /** Thaws the filesystem if it is frozen; one that is not (fsfreeze says so) is left alone. */
    public void thawIfFrozen(Path target) {
        try {
            thaw(target);
            log.warn("{} was frozen; thawed it", target);
        } catch (IOException notFrozen) {
            log.debug("{} was not frozen: {}", target, notFrozen.getMessage());
        }
    }

    public void thaw(Path target) throws IOException {
        Commands.check(COMMAND_TIMEOUT, HostTools.require("fsfreeze", "util-linux", "commit").toString(),
                "--unfreeze", target.toString());
    }

    /** Unmounts {@code target} if the filesystem there comes from {@code device}; lazily if it stays busy. */
    public void unmountIfFrom(Path target, Path device) throws IOException {
        if (mountTable.mountAt(target).filter(m -> m.source().equals(device.toString())).isEmpty()) {
            return;
        }
        try {
            unmount(target);
        } catch (IOException | RuntimeException busy) {
            unmountLazily(target);
        }
    }

    /** Detaches the mount from the tree now even if busy; the kernel frees it when the last user lets go. */
    public void unmountLazily(Path target) throws IOException {
        if (mountTable.isMountPoint(target)) {
            Commands.check(COMMAND_TIMEOUT, HostTools.require("umount", "mount", "unmounting").toString(),
                    "--lazy", target.toString());
        }
    }
}
