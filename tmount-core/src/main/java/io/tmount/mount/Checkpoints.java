package io.tmount.mount;

/**
 * Named points in mounting and committing where a process can die with the most left half done; the crash tests
 * stop a process at one of them (and kill it there) instead of sleeping and hoping. The daemon's are no-ops.
 */
@FunctionalInterface
public interface Checkpoints {

    /** The mount's NBD server (or qemu-nbd) runs; nothing is attached yet. */
    String SERVING = "mount.serving";
    /** The device is attached (helper running, loop device set up); the journal does not record it yet. */
    String ATTACHED = "mount.attached";
    /** The filesystem is mounted; the journal does not say so yet. */
    String MOUNTED = "mount.mounted";
    /** A commit froze the filesystem and synced the overlay; nothing is packed or stored yet. */
    String COMMIT_FROZEN = "commit.frozen";
    /** An unmount took the filesystem down; its device, server, state and journal entry are not released yet. */
    String UNMOUNTED = "unmount.unmounted";

    Checkpoints NONE = point -> {
    };

    /** A build's step of this type (RUN, COPY, MOUNT, ...) did its work; the build has not moved on yet. */
    static String buildStep(String type) {
        return "build.step." + type.toLowerCase(java.util.Locale.ROOT);
    }

    void reached(String point);
}
