package io.tmount.mount;

import io.tmount.image.BuildLayout;
import io.tmount.image.Overlay;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.Files;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A mounted template and how to take it apart: {@code resources} (device, server, overlay) first; only when all of
 * them are released does {@code bookkeeping} (journal, folders) go, so a failed release stays in the journal for
 * the next start to reclaim. {@code overlay} is null for read-only and qemu-nbd mounts; {@code createdDirs} are the
 * folders of the mount path tmount made (or that another of its mounts made and may leave behind).
 * {@code committedMutations} is the overlay's count of writes beyond the superblock's block when the mount was made
 * or last committed: a commit with nothing written since has nothing to store. A mount restored after a crash whose
 * overlay holds changes starts at -1: what it holds was never committed, whatever the count says.
 */
record ActiveMount(MountInfo info, BuildLayout layout, Overlay overlay, List<Path> createdDirs, Teardown resources,
                   Teardown bookkeeping, Probe probe, AtomicLong committedMutations)
        implements MountSlots.Slot {

    /** What is wrong with the mount's device or NBD server right now, if anything. */
    @FunctionalInterface
    interface Probe {
        Probe NONE = Optional::empty;

        Optional<String> problem();
    }

    ActiveMount(MountInfo info, BuildLayout layout, Overlay overlay, List<Path> createdDirs, Teardown resources,
                Teardown bookkeeping, Probe probe) {
        this(info, layout, overlay, createdDirs, resources, bookkeeping, probe,
                new AtomicLong(overlay == null ? 0 : overlay.mutationsBeyondFirstBlock()));
    }

    /** A mount brought back after a crash: changed if its overlay holds anything of its own. */
    static ActiveMount restored(MountInfo info, BuildLayout layout, Overlay overlay, List<Path> createdDirs,
                                Teardown resources, Teardown bookkeeping, Probe probe) {
        long mark = overlay == null ? 0 : overlay.changedBeyondFirstBlock() ? -1 : overlay.mutationsBeyondFirstBlock();
        return new ActiveMount(info, layout, overlay, createdDirs, resources, bookkeeping, probe, new AtomicLong(mark));
    }

    /** Whether anything was written to the device since it was mounted or last committed. */
    boolean changedSinceCommit() {
        return overlay != null && overlay.mutationsBeyondFirstBlock() != committedMutations.get();
    }

    void release() throws IOException {
        release(null);
    }

    /**
     * Releases the mount; with {@code keepStateIn}, its state folder (overlay and journal entry) is first moved there
     * in one step, once the overlay is closed, instead of being deleted.
     */
    void release(Path keepStateIn) throws IOException {
        resources.close();
        if (keepStateIn != null && info.overlayPath() != null) {
            Files.createDirectories(keepStateIn.getParent());
            Files.move(info.overlayPath().getParent(), keepStateIn, StandardCopyOption.ATOMIC_MOVE);
        }
        bookkeeping.close();
    }

    void releaseOnto(Throwable primary) {
        try {
            release();
        } catch (IOException e) {
            primary.addSuppressed(e);
        }
    }
}
