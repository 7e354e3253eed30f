package io.tmount.device;

import java.nio.file.Path;

/**
 * What an attached device is made of, as written to the mount journal, so that a later start can take apart
 * what a crashed process left behind. {@code helperPid} and {@code fuseDir} are null where the backend has none.
 */
public record DeviceRecord(AttachBackend backend, Path devicePath, int slot, Long helperPid, Path fuseDir) {
}
