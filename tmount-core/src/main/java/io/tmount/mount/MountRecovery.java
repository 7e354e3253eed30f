package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.device.DeviceRecord;
import io.tmount.device.QemuNbdServer;
import io.tmount.os.Folders;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Start-up reconciliation. Whatever the journal lists was left by a process that is gone (the state dir lock proves
 * it), so its NBD server is dead and its mount cannot work. All are taken apart first, deepest paths first
 * (filesystem, device, helper processes; skipped after a reboot, when none of them can exist), then each is brought
 * back, shallowest paths first, from what the state dir kept: the overlay holds every write the kernel was told is durable. A mount that cannot be restored is removed
 * and its state folder moved to {@code orphans/} for the operator. Ephemeral mounts (template builds') are only
 * taken apart and discarded.
 */
final class MountRecovery {

    private static final Logger log = LoggerFactory.getLogger(MountRecovery.class);

    /** Brings a journaled mount back. */
    interface Restorer {
        MountInfo restore(JournalEntry entry) throws Exception;
    }

    private final MountJournal journal;
    private final Attachers attachers;
    private final MountFilesystems filesystems;
    private final MountTable mountTable;
    private final Path runtimeMounts;
    private final Path orphans;
    private final TemplateStore store;

    MountRecovery(MountJournal journal, Attachers attachers, MountFilesystems filesystems, MountTable mountTable,
                  Path runtimeMounts, Path orphans, TemplateStore store) {
        this.store = store;
        this.journal = journal;
        this.attachers = attachers;
        this.filesystems = filesystems;
        this.mountTable = mountTable;
        this.runtimeMounts = runtimeMounts;
        this.orphans = orphans;
    }

    void run(Restorer restorer) throws IOException {
        Set<String> known = new HashSet<>();
        String boot = BootId.current();
        List<MountJournal.Found> all = new ArrayList<>(journal.all());
        all.sort(Comparator.comparingInt(MountRecovery::depth));
        // first take everything apart, what is mounted inside another mount before it: a parent stays busy until then
        Set<Path> stillMounted = new HashSet<>();
        for (MountJournal.Found found : all.reversed()) {
            if (found.entry() != null && boot.equals(found.entry().bootId()) && !takeApart(found.entry())) {
                stillMounted.add(found.dir()); // the next start tries again
            }
        }
        // then restore or clean, parents first: a nested mount restored first would be covered by its parent
        for (MountJournal.Found found : all) {
            known.add(found.dir().getFileName().toString());
            if (found.entry() == null) {
                log.warn("removing {} left by an earlier run ({})", found.dir(), found.problem());
                deleteQuietly(found.dir());
                continue;
            }
            JournalEntry entry = found.entry();
            if (stillMounted.contains(found.dir())) {
                continue;
            }
            removeCommitLeftovers(entry);
            deleteQuietly(entry.runtimeDir());
            if (!entry.mounted()) {
                discard(entry, "the earlier run stopped while mounting it"); // nobody was told it exists
                continue;
            }
            if (entry.ephemeral()) {
                discard(entry, "it was a template build's mount, and that build ended with the earlier run");
                continue;
            }
            try {
                MountInfo restored = restorer.restore(entry);
                log.warn("restored mount {} of template {} build {} at {} after an unclean stop ({})", restored.id(),
                        restored.templateId(), restored.buildId(), restored.mountPath(), restored.devicePath());
            } catch (Exception e) {
                log.error("cannot restore mount {} at {}: {}", entry.info().id(), entry.info().mountPath(), e.getMessage());
                forget(entry, "it could not be restored");
            }
        }
        if (Files.isDirectory(runtimeMounts)) {
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(runtimeMounts)) {
                for (Path dir : dirs) {
                    if (!known.contains(dir.getFileName().toString())) {
                        deleteQuietly(dir);
                    }
                }
            }
        }
    }

    /** Unmounts the dead filesystem and releases the device and helpers; false if the filesystem stays mounted. */
    private boolean takeApart(JournalEntry entry) {
        MountInfo info = entry.info();
        log.warn("reclaiming mount {} of template {} build {} at {}, left by an earlier run",
                info.id(), info.templateId(), info.buildId(), info.mountPath());
        DeviceRecord device = entry.device();
        try {
            filesystems.removeCommitCover(info); // a userspace mount's commit cut short
        } catch (IOException e) {
            log.warn("cannot remove the commit cover at {}: {}", info.mountPath(), e.getMessage());
        }
        boolean ours = device != null && device.devicePath() != null && mountTable.mountAt(info.mountPath())
                .filter(m -> m.source().equals(device.devicePath().toString())).isPresent();
        if (ours) {
            // a process killed mid-commit leaves the filesystem frozen: a frozen filesystem only detaches on unmount,
            // its writers hang for good and its device stays busy until reboot, so thaw it first (if it is frozen)
            filesystems.thawIfFrozen(info);
            try {
                filesystems.unmount(info);
            } catch (IOException | RuntimeException busy) {
                try {
                    filesystems.unmountLazily(info);
                    log.warn("{} was busy ({}); detached it lazily", info.mountPath(), busy.getMessage());
                } catch (IOException e) {
                    log.error("cannot unmount {}: {}", info.mountPath(), e.getMessage());
                    return false;
                }
            }
        }
        if (device != null) {
            attachers.get(device.backend()).reclaim(device);
        }
        if (entry.runtimeDir() != null && info.attach() != null) {
            // killed between starting the attach and journaling its device: only the runtime dir knows what it left
            attachers.get(info.attach()).reclaimWorkDir(entry.runtimeDir());
        }
        if (entry.serverPid() != null) {
            QemuNbdServer.reclaim(entry.serverPid(), entry.runtimeDir().toString());
        }
        return true;
    }

    /**
     * Drops a mount that will not come back; keeps its state (overlay, copy) under orphans/ for the operator, with
     * its journal, which says what it was. One move: a crash before it leaves the mount to the next start.
     */
    private void forget(JournalEntry entry, String why) {
        try {
            if (Files.exists(entry.stateDir())) {
                Files.createDirectories(orphans);
                Path kept = orphans.resolve(entry.info().id());
                Files.move(entry.stateDir(), kept, StandardCopyOption.ATOMIC_MOVE);
                log.error("mount {} at {} is gone ({}); its state is kept in {}", entry.info().id(),
                        entry.info().mountPath(), why, kept);
            }
            MountPaths.removeCreated(entry.createdDirs());
        } catch (IOException e) {
            log.error("cannot clean up after mount {}: {}", entry.info().id(), e.getMessage());
        }
    }

    private void discard(JournalEntry entry, String why) {
        log.warn("discarding mount {} at {}: {}", entry.info().id(), entry.info().mountPath(), why);
        deleteQuietly(entry.stateDir());
        try {
            MountPaths.removeCreated(entry.createdDirs());
        } catch (IOException e) {
            log.error("cannot remove the folders of mount {}: {}", entry.info().id(), e.getMessage());
        }
    }

    /**
     * A commit cut short leaves its packed data (as large as the overlay) and temp files in the mount's state dir,
     * and possibly a header without data or metadata in the store, which would make that build id unusable: both go.
     */
    private void removeCommitLeftovers(JournalEntry entry) {
        Path dir = entry.stateDir();
        if (dir == null || !Files.isDirectory(dir)) {
            return;
        }
        Path pending = dir.resolve(MountCommitter.PENDING);
        try {
            if (Files.exists(pending)) {
                BuildId build = BuildId.of(Files.readString(pending).strip());
                store.removeIncomplete(build);
                Files.delete(pending);
            }
            try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, p -> {
                String name = p.getFileName().toString();
                return name.startsWith("commit-") || name.startsWith("framed-") || name.startsWith("padded-");
            })) {
                for (Path temp : temps) {
                    log.warn("removing {}, left by a commit that was cut short", temp);
                    Files.deleteIfExists(temp);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.error("cannot clean up after the commit cut short in {}: {}", dir, e.getMessage());
        }
    }

    /** How deep a journaled mount's path is (entries without a journal first: they are only removed). */
    private static int depth(MountJournal.Found found) {
        return found.entry() == null ? 0 : found.entry().info().mountPath().getNameCount();
    }

    private static void deleteQuietly(Path dir) {
        try {
            Folders.deleteTree(dir);
        } catch (IOException e) {
            log.error("cannot remove {}: {}", dir, e.getMessage());
        }
    }
}
