package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.image.BuildLayout;
import io.tmount.image.BuildWriter;
import io.tmount.image.LayerDiff;
import io.tmount.progress.CountingFileChannel;
import io.tmount.progress.ProgressCounter;
import io.tmount.image.WriteFormat;
import io.tmount.image.Overlay;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.tmount.os.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;

/**
 * Persists a mount's changes as a new layered build: freezes the filesystem (so every change is on the device and
 * nothing moves), syncs the overlay, packs its blocks, stores them (plain or compressed) with a header over the
 * parent's mappings and the metadata through {@link BuildWriter}, and thaws. The parent build and the mount are left
 * as they were.
 */
final class MountCommitter {

    /** Below this much free space on the state dir's disk, a failed write-back is put down to it being full. */
    private static final long NEARLY_FULL_BYTES = 16L << 20;

    private static final Logger log = LoggerFactory.getLogger(MountCommitter.class);

    /** In a mount's state dir while a commit stores its build: that build's id. */
    static final String PENDING = "commit-pending";

    private final MountFilesystems filesystems;
    private final TemplateStore store;
    private final Checkpoints checkpoints;

    MountCommitter(MountFilesystems filesystems, TemplateStore store, Checkpoints checkpoints) {
        this.filesystems = filesystems;
        this.store = store;
        this.checkpoints = checkpoints;
    }

    /**
     * Commits the mount's changes as {@code newBuild} of {@code template}; with {@code evenWithoutChanges}, also when
     * nothing changed (a layer of no blocks of its own). With {@code advance}, the overlay's changes so far count as
     * committed once the build is stored (see
     * {@link Overlay#mark}), so the next commit holds only later changes, layered on this one: the caller then
     * treats the mount as one of the new build.
     */
    CommitResult commit(ActiveMount mount, BuildId newBuild, TemplateId template, boolean evenWithoutChanges,
                        boolean advance, Path workDir, WriteFormat format, ProgressCounter progress)
            throws IOException {
        long start = System.nanoTime();
        MountInfo info = mount.info();
        refuseUncommittable(mount, newBuild);
        if (filesystems.wentReadOnly(info)) {
            return commitBroken(mount, newBuild, template, evenWithoutChanges, advance, workDir, format, start,
                    progress);
        }
        MountFilesystems.Hold hold;
        try {
            filesystems.sync(info); // changes still in the page cache must reach the device to count
            if (filesystems.syncReachesTheDevice(info) && !mount.changedSinceCommit() && !evenWithoutChanges) {
                return CommitResult.unchanged(info.buildId(), template, millisSince(start));
            }
            trimFreeSpace(info);
            hold = filesystems.holdStill(info); // freezing syncs again, and fails the same way
        } catch (IOException e) {
            refuseOnAFullDisk(info.mountPath(), workDir, e);
            // room enough, and still it cannot write back: its device failed writes before (its journal may be
            // aborted without the filesystem showing it as read-only), so the device's blocks are all there are
            return commitBroken(mount, newBuild, template, evenWithoutChanges, advance, workDir, format, start,
                    progress);
        }
        CommitResult result;
        try {
            if (!mount.changedSinceCommit() && !evenWithoutChanges) {
                result = CommitResult.unchanged(info.buildId(), template, millisSince(start)); // fuse2fs had nothing
            } else {
                // nothing writes while frozen: what is written from here on is not in this commit
                result = store(mount, newBuild, template, advance, workDir, format, start, progress);
            }
        } catch (IOException | RuntimeException e) {
            try {
                hold.release(); // a frozen filesystem hangs every writer
            } catch (IOException | RuntimeException release) {
                e.addSuppressed(release);
            }
            throw e;
        }
        try {
            hold.release();
        } catch (IOException | RuntimeException e) {
            // the build is stored: say so, and that the mount needs attention, rather than lose the result
            log.error("{} committed as build {}, but its filesystem could not be put back: {}", info.mountPath(),
                    result.build(), e.getMessage());
            return result.withWarning("the build is stored, but the filesystem could not be put back on "
                    + info.mountPath() + " (" + e.getMessage() + "); unmount it");
        }
        return result;
    }

    /**
     * The mount's filesystem could not write back its changes. On a full state dir the overlay refused them (ENOSPC,
     * which the kernel reports as an I/O error): say so, since making room is the cure, and the commit can then be
     * retried. With room enough, returns: the caller commits what reached the device.
     */
    private static void refuseOnAFullDisk(Path mountPath, Path workDir, IOException e) throws IOException {
        java.nio.file.FileStore disk;
        long free;
        try {
            disk = java.nio.file.Files.getFileStore(workDir);
            free = disk.getUsableSpace();
        } catch (IOException | RuntimeException unknown) {
            e.addSuppressed(unknown);
            throw e;
        }
        if (free < NEARLY_FULL_BYTES) {
            throw new IOException(String.format("the filesystem at %s could not write its changes to its device: the "
                    + "state dir's disk is full (No space left on device: %d bytes free on %s); make room there and "
                    + "commit again (writes not fsync'ed before the disk filled up may be lost)", mountPath, free, disk),
                    e);
        }
        log.warn("{} could not write back its changes ({}), with {} bytes free on the state dir's disk", mountPath,
                e.getMessage(), free);
    }

    /** A read-only mount, a mount of the qemu-nbd engine, or a build id the store has already cannot be committed. */
    private void refuseUncommittable(ActiveMount mount, BuildId newBuild) {
        Path path = mount.info().mountPath();
        if (mount.info().readOnly()) {
            throw TmountException.invalid("%s is mounted read-only: it has no changes to commit", path);
        }
        if (mount.overlay() == null) {
            throw TmountException.invalid("%s uses the %s engine, which keeps a full private copy without "
                    + "change tracking; mount with the builtin engine to commit", path, mount.info().engine());
        }
        if (store.exists(newBuild)) {
            throw TmountException.conflict("build '%s' already exists in template store %s", newBuild, store.url());
        }
    }

    /**
     * A filesystem that went read-only after an error (an aborted journal, say on a full disk), or that cannot write
     * back its changes though there is room, can be neither synced nor frozen, and writes nothing more: what reached
     * the device is all there is, and is committed at block level, with a warning, since it may need repair. The
     * alternative, an unmount, would drop it.
     */
    private CommitResult commitBroken(ActiveMount mount, BuildId newBuild, TemplateId template,
                                      boolean evenWithoutChanges, boolean advance, Path workDir, WriteFormat format,
                                      long start, ProgressCounter progress) throws IOException {
        MountInfo info = mount.info();
        if (!mount.changedSinceCommit() && !evenWithoutChanges) {
            return CommitResult.unchanged(info.buildId(), template, millisSince(start));
        }
        log.warn("{} went read-only or cannot write back after a filesystem error; committing the blocks that reached "
                + "the device", info.mountPath());
        return store(mount, newBuild, template, advance, workDir, format, start, progress).withWarning(info.mountPath()
                + " went read-only after a filesystem error, or could not write back its changes (see the kernel "
                + "log), so the commit took the blocks that "
                + "reached the device without a sync: fsynced writes may be in its journal only (a writable mount "
                + "replays it; a read-only one shows the state before), and the filesystem may need repair: check "
                + "the build with `tmount verify " + template + " " + newBuild + " --fsck`");
    }

    /**
     * Stores what the overlay holds, with nothing writing to it: flushes it, marks the commit pending (if this process
     * dies while the build is stored, the next start removes what it left half done), packs and publishes.
     */
    private CommitResult store(ActiveMount mount, BuildId newBuild, TemplateId template, boolean advance,
                               Path workDir, WriteFormat format, long start, ProgressCounter progress)
            throws IOException {
        Overlay overlay = mount.overlay();
        Path packed = workDir.resolve("commit-" + newBuild + ".data");
        Path pending = workDir.resolve(PENDING);
        try {
            long committing = overlay.mutationsBeyondFirstBlock();
            overlay.flush();
            checkpoints.reached(Checkpoints.COMMIT_FROZEN);
            AtomicFiles.replace(pending, java.nio.ByteBuffer.wrap(newBuild.value().getBytes(StandardCharsets.UTF_8)));
            CommitResult result = publish(mount, newBuild, template, packed, format, workDir, start, progress);
            mount.committedMutations().set(committing); // only once the build is stored: a failed commit commits nothing
            if (advance) {
                overlay.mark(); // still frozen: nothing was written since the blocks were packed
            }
            return result;
        } finally {
            Files.deleteIfExists(packed);
            Files.deleteIfExists(pending); // stored whole, or what was written is removed again
        }
    }

    private CommitResult publish(ActiveMount mount, BuildId newBuild, TemplateId template, Path packed,
                                 WriteFormat format, Path workDir, long start, ProgressCounter progress)
            throws IOException {
        MountInfo info = mount.info();
        BuildLayout parent = mount.layout();
        LayerDiff.Result diff;
        // packing the overlay's own blocks, then the writer's passes over them, each about that many bytes
        progress.total(mount.overlay().ownBlocksSinceMark() * Overlay.BLOCK
                * (1 + BuildWriter.readPasses(format, parent.header())));
        try (FileChannel out = CountingFileChannel.of(FileChannel.open(packed, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE), progress)) {
            // since the last mark: a mount that advanced onto its commits has the older changes in its parent already
            diff = LayerDiff.write(mount.overlay(), parent.header().mappings(), newBuild.uuid(), out, true);
        }
        BuildMetadata metadata = BuildMetadata.forNewBuild(newBuild, template, info.buildId(),
                parent.header().size(), Instant.now()).withBuildAliases(parent.aliasesWith(newBuild))
                .withE2bFrom(store.metadata(info.buildId()).orElse(null));
        BuildWriter.Written written = new BuildWriter(store, workDir, progress).writeLayer(parent, metadata, diff,
                packed, format);
        progress.finish();
        CommitResult result = new CommitResult(newBuild, info.buildId(), template, diff.ownBytes(),
                diff.zeroBytes(), diff.mappings().size(), millisSince(start), written.headerVersion(),
                written.compression().label(), written.storedBytes(), null);
        log.info("committed mount {} at {} as build {} (parent {}, {} bytes of its own stored as {} in {} bytes, {} "
                        + "bytes zeroed, header version {}) in {} ms", info.id(), info.mountPath(), newBuild,
                info.buildId(), result.ownBytes(), result.compression(), result.storedBytes(), result.zeroBytes(),
                result.headerVersion(), result.millis());
        return result;
    }

    /**
     * Tells the overlay which blocks the filesystem no longer uses (deleted files), so the new layer maps them to
     * zeros instead of keeping references to dead data in the layers below. Best effort.
     */
    private void trimFreeSpace(MountInfo info) {
        try {
            filesystems.trim(info);
        } catch (IOException e) {
            log.debug("fstrim {} before commit failed: {}", info.mountPath(), e.getMessage());
        }
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
