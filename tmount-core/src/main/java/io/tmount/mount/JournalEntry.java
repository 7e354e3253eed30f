package io.tmount.mount;

import io.tmount.device.DeviceRecord;

import java.nio.file.Path;
import java.util.List;

/**
 * What a mount consists of, written to the state dir as each part is acquired, so a later start can take apart
 * what a crashed process left and bring the mount back. {@code bootId} tells whether the leftovers can still exist
 * (after a reboot devices and processes are gone, and their numbers may belong to someone else). Fields are null
 * until their part exists. An {@code ephemeral} mount is discarded, not restored, by the next start: a template
 * build's, or one whose unmount had begun (its changes were being discarded anyway).
 */
record JournalEntry(
        MountInfo info,
        List<Path> createdDirs,
        Path stateDir,
        Path runtimeDir,
        Long serverPid,
        DeviceRecord device,
        boolean mounted,
        String bootId,
        boolean ephemeral) {

    JournalEntry(MountInfo info, List<Path> createdDirs, Path stateDir, Path runtimeDir, Long serverPid,
                 DeviceRecord device, boolean mounted, boolean ephemeral) {
        this(info, createdDirs, stateDir, runtimeDir, serverPid, device, mounted, BootId.current(), ephemeral);
    }

    JournalEntry withServerPid(Long pid) {
        return new JournalEntry(info, createdDirs, stateDir, runtimeDir, pid, device, mounted, bootId, ephemeral);
    }

    JournalEntry withDevice(DeviceRecord value) {
        return new JournalEntry(info, createdDirs, stateDir, runtimeDir, serverPid, value, mounted, bootId, ephemeral);
    }

    JournalEntry discardedAtNextStart() {
        return new JournalEntry(info, createdDirs, stateDir, runtimeDir, serverPid, device, mounted, bootId, true);
    }

    JournalEntry withMounted(MountInfo value) {
        return new JournalEntry(value, createdDirs, stateDir, runtimeDir, serverPid, device, true, bootId, ephemeral);
    }
}
