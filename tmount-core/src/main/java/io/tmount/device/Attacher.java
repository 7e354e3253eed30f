package io.tmount.device;

import io.tmount.nbd.NbdEndpoint;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/** Turns an NBD endpoint into a block device path. */
public interface Attacher {

    AttachBackend backend();

    /** Why this backend cannot work on this host (missing module or program), or empty when it can. */
    Optional<String> unavailableReason();

    /**
     * Connects a device to the export. {@code workDir} is a private, empty folder for the attach's own files
     * (it must be short enough for unix socket paths). On failure nothing is left attached.
     */
    AttachedDevice attach(NbdEndpoint endpoint, boolean readOnly, Path workDir) throws IOException;

    /** Takes apart a device recorded by a process that is gone; best effort, idempotent. */
    void reclaim(DeviceRecord record);

    /**
     * Takes apart what an attach left in {@code workDir} when its process died before recording the device (between
     * starting its helper and the journal); best effort, idempotent. By default there is nothing to find there.
     */
    default void reclaimWorkDir(Path workDir) {
    }
}
