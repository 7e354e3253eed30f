package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.os.MountTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Takes one mount down: marks its journal entry (a crash from then on finishes the unmount at the next start instead
 * of bringing the mount back), unmounts the filesystem, then releases its parts. A writable mount whose filesystem went
 * read-only after an error with uncommitted changes keeps its state folder under {@code orphans/}.
 */
final class MountUnmounter {

    private static final Logger log = LoggerFactory.getLogger(MountUnmounter.class);

    private final MountSlots slots;
    private final MountJournal journal;
    private final MountFilesystems filesystems;
    private final MountTable mountTable;
    private final Path orphans;
    private final Checkpoints checkpoints;

    MountUnmounter(MountSlots slots, MountJournal journal, MountFilesystems filesystems, MountTable mountTable,
                   Path orphans, Checkpoints checkpoints) {
        this.slots = slots;
        this.journal = journal;
        this.filesystems = filesystems;
        this.mountTable = mountTable;
        this.orphans = orphans;
        this.checkpoints = checkpoints;
    }

    /**
     * Unmounts the mount at {@code path}; with {@code lazyIfBusy} (the manager closing) a mount still busy after the
     * retries is detached lazily. Returns the folder its changes were kept in, if they were.
     */
    Optional<Path> unmount(Path path, boolean lazyIfBusy) {
        ActiveMount mount = slots.take(path, MountSlots.Busy.UNMOUNTING);
        long start = System.nanoTime();
        Path keepIn = null;
        if (!mount.info().readOnly() && mount.changedSinceCommit() && filesystems.wentReadOnly(mount.info())) {
            keepIn = orphans.resolve(mount.info().id());
        }
        // if this process dies from here on, the next start finishes the unmount instead of restoring the mount
        // (unless its changes are to be kept: then it comes back with them)
        JournalEntry journaled = keepIn == null ? markUnmounting(mount) : null;
        try {
            List<Path> inside = mountTable.mountsUnder(path).stream().map(MountTable.Entry::mountPoint)
                    .filter(p -> !p.equals(path)).distinct().toList();
            if (!inside.isEmpty() && !lazyIfBusy) {
                throw new TmountException(TmountException.Kind.BUSY, path + " has other mounts inside it ("
                        + inside.stream().map(Path::toString).collect(Collectors.joining(", ")) + "); unmount those first");
            }
            filesystems.unmount(mount.info());
        } catch (IOException | RuntimeException e) {
            if (!lazyIfBusy) {
                unmarkUnmounting(journaled);
                slots.put(path, mount);
                throw e instanceof TmountException te ? te : TmountException.failed(e, "cannot unmount %s", path);
            }
            try {
                filesystems.unmountLazily(mount.info());
                log.warn("{} stayed busy ({}); detached it lazily", path, e.getMessage());
            } catch (IOException lazy) {
                e.addSuppressed(lazy);
                unmarkUnmounting(journaled);
                slots.put(path, mount);
                throw TmountException.failed(e, "cannot unmount %s", path);
            }
        }
        checkpoints.reached(Checkpoints.UNMOUNTED);
        try {
            mount.release(keepIn);
        } catch (IOException e) {
            log.error("releasing mount {} at {} failed", mount.info().id(), path, e);
            throw TmountException.failed(e, "unmounted %s, but releasing its resources failed (kept in the journal "
                    + "for the next start to reclaim)", path);
        } finally {
            slots.free(path);
        }
        MountInfo info = mount.info();
        log.info("unmounted template {} build {} from {} (released {}) in {} ms", info.templateId(), info.buildId(),
                path, info.devicePath(), (System.nanoTime() - start) / 1_000_000);
        if (keepIn != null) {
            log.warn("{} went read-only after a filesystem error with uncommitted changes; its overlay is kept in {}",
                    path, keepIn);
        }
        return Optional.ofNullable(keepIn);
    }

    /** Marks the mount's journal entry to be discarded at the next start; returns the entry as it was, or null. */
    private JournalEntry markUnmounting(ActiveMount mount) {
        try {
            JournalEntry entry = journal.read(mount.info().id());
            if (!entry.ephemeral()) {
                journal.write(entry.discardedAtNextStart());
                return entry;
            }
        } catch (IOException e) {
            log.warn("cannot mark mount {} as being unmounted in its journal: {}", mount.info().id(), e.getMessage());
        }
        return null;
    }

    /** The unmount did not happen: the mount is restored again after a crash, as before. */
    private void unmarkUnmounting(JournalEntry journaled) {
        if (journaled == null) {
            return;
        }
        try {
            journal.write(journaled);
        } catch (IOException e) {
            log.error("cannot restore the journal entry of mount {}: {}", journaled.info().id(), e.getMessage());
        }
    }
}
