package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.device.DeviceRecord;
import io.tmount.device.QemuNbdServer;
import io.tmount.os.Folders;
import io.tmount.os.MountTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * Start-up reconciliation: whatever the journal lists was left by a process that is gone (the state dir lock
 * proves it), so its NBD server is dead and its mounts cannot work. Each is taken apart: filesystem, device,
 * helper processes, folders. The local copies of issue-2 mounts hold nothing to keep (the seed's semantics:
 * changes are not persisted).
 */
final class MountRecovery {

    private static final Logger log = LoggerFactory.getLogger(MountRecovery.class);

    private final MountJournal journal;
    private final Attachers attachers;
    private final FilesystemMounter filesystems;
    private final MountTable mountTable;
    private final Path runtimeMounts;

    MountRecovery(MountJournal journal, Attachers attachers, FilesystemMounter filesystems, MountTable mountTable,
                  Path runtimeMounts) {
        this.journal = journal;
        this.attachers = attachers;
        this.filesystems = filesystems;
        this.mountTable = mountTable;
        this.runtimeMounts = runtimeMounts;
    }

    void run() throws IOException {
        Set<String> known = new HashSet<>();
        for (MountJournal.Found found : journal.all()) {
            known.add(found.dir().getFileName().toString());
            if (found.entry() == null) {
                log.warn("removing {} left by an earlier run ({})", found.dir(), found.problem());
                deleteQuietly(found.dir());
                continue;
            }
            reclaim(found.entry());
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

    private void reclaim(JournalEntry entry) {
        MountInfo info = entry.info();
        log.warn("reclaiming mount {} of template {} build {} at {}, left by an earlier run",
                info.id(), info.templateId(), info.buildId(), info.mountPath());
        DeviceRecord device = entry.device();
        boolean ours = device != null && device.devicePath() != null && mountTable.mountAt(info.mountPath())
                .filter(m -> m.source().equals(device.devicePath().toString())).isPresent();
        boolean clean = true;
        if (ours) {
            try {
                filesystems.unmount(info.mountPath());
            } catch (IOException | RuntimeException busy) {
                try {
                    filesystems.unmountLazily(info.mountPath());
                    log.warn("{} was busy ({}); detached it lazily", info.mountPath(), busy.getMessage());
                } catch (IOException e) {
                    log.error("cannot unmount {}: {}", info.mountPath(), e.getMessage());
                    clean = false;
                }
            }
        }
        if (device != null) {
            attachers.get(device.backend()).reclaim(device);
        }
        if (entry.serverPid() != null) {
            QemuNbdServer.reclaim(entry.serverPid());
        }
        if (!clean) {
            return; // keep the journal: the next start tries again
        }
        try {
            Folders.deleteTree(entry.runtimeDir());
            MountPaths.removeCreated(entry.createdDirs());
            Folders.deleteTree(entry.stateDir());
        } catch (IOException e) {
            log.error("cannot remove the folders of mount {}: {}", info.id(), e.getMessage());
        }
    }

    private static void deleteQuietly(Path dir) {
        try {
            Folders.deleteTree(dir);
        } catch (IOException e) {
            log.error("cannot remove {}: {}", dir, e.getMessage());
        }
    }
}
