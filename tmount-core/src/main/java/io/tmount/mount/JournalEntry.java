package io.tmount.mount;

import io.tmount.device.DeviceRecord;

import java.nio.file.Path;
import java.util.List;

/**
 * What a mount consists of, written to the state dir as each part is acquired, so a later start can take apart
 * what a crashed process left. Fields are null until their part exists.
 */
record JournalEntry(
        MountInfo info,
        List<Path> createdDirs,
        Path stateDir,
        Path runtimeDir,
        Long serverPid,
        DeviceRecord device,
        boolean mounted) {

    JournalEntry withServerPid(Long pid) {
        return new JournalEntry(info, createdDirs, stateDir, runtimeDir, pid, device, mounted);
    }

    JournalEntry withDevice(DeviceRecord value) {
        return new JournalEntry(info, createdDirs, stateDir, runtimeDir, serverPid, value, mounted);
    }

    JournalEntry withMounted(MountInfo value) {
        return new JournalEntry(value, createdDirs, stateDir, runtimeDir, serverPid, device, true);
    }
}
