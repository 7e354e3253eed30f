package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.store.TemplateStore;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * What a {@link MountManager} works with: its state dir (journal, local copies), runtime dir (sockets, FUSE
 * folders), the template store, the attach backends and how long an unmount retries while the mount is busy.
 */
public record MountManagerConfig(Path stateDir, Path runtimeDir, TemplateStore store, Attachers attachers,
                                 Duration unmountBusyRetry) {

    public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/tmount");
    public static final Path DEFAULT_RUNTIME_DIR = Path.of("/run/tmount");
    public static final int DEFAULT_NBD_POOL_SIZE = 64;
    public static final Duration DEFAULT_UNMOUNT_BUSY_RETRY = Duration.ofSeconds(3);

    public MountManagerConfig {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(attachers, "attachers");
        stateDir = absolute("stateDir", stateDir);
        runtimeDir = absolute("runtimeDir", runtimeDir);
        if (unmountBusyRetry == null || unmountBusyRetry.isNegative()) {
            throw new IllegalArgumentException("unmountBusyRetry (" + unmountBusyRetry + ") must be zero or positive");
        }
    }

    /** Default dirs, this host's backends with e2b's default pool size, 3 s of unmount retries. */
    public static MountManagerConfig defaults(TemplateStore store) {
        return new MountManagerConfig(DEFAULT_STATE_DIR, DEFAULT_RUNTIME_DIR, store,
                Attachers.onThisHost(DEFAULT_NBD_POOL_SIZE), DEFAULT_UNMOUNT_BUSY_RETRY);
    }

    public MountManagerConfig withDirs(Path state, Path runtime) {
        return new MountManagerConfig(state, runtime, store, attachers, unmountBusyRetry);
    }

    public MountManagerConfig withAttachers(Attachers value) {
        return new MountManagerConfig(stateDir, runtimeDir, store, value, unmountBusyRetry);
    }

    public MountManagerConfig withUnmountBusyRetry(Duration value) {
        return new MountManagerConfig(stateDir, runtimeDir, store, attachers, value);
    }

    private static Path absolute(String name, Path path) {
        if (path == null || !path.isAbsolute()) {
            throw new IllegalArgumentException(name + " (" + path + ") must be an absolute path");
        }
        return path.normalize();
    }
}
