package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.image.ChunkCache;
import io.tmount.image.FetchPolicy;
import io.tmount.image.WriteFormat;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * What a {@link MountManager} works with: its state dir (journal, overlays, chunk cache, local copies), runtime dir
 * (sockets, FUSE folders), the template store, the attach backends, how long an unmount retries while busy, the
 * chunk size of lazy fetches, the disk budget of the chunk cache, and how commits write new builds unless told
 * otherwise (compression and header version), which templates' filesystems the host kernel may read
 * ({@link TrustPolicy}), and how chunks are fetched ({@link FetchPolicy}).
 */
public record MountManagerConfig(Path stateDir, Path runtimeDir, TemplateStore store, Attachers attachers,
                                 Duration unmountBusyRetry, int chunkSize, long cacheMaxBytes, WriteFormat writeFormat,
                                 Checkpoints checkpoints, TrustPolicy trust, FetchPolicy fetch) {

    public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/tmount");
    public static final Path DEFAULT_RUNTIME_DIR = Path.of("/run/tmount");
    public static final int DEFAULT_NBD_POOL_SIZE = 64;
    public static final Duration DEFAULT_UNMOUNT_BUSY_RETRY = Duration.ofSeconds(3);
    public static final int DEFAULT_CHUNK_SIZE = 4 << 20;
    public static final long DEFAULT_CACHE_MAX_CEILING = 16L << 30;

    public MountManagerConfig {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(attachers, "attachers");
        Objects.requireNonNull(writeFormat, "writeFormat");
        Objects.requireNonNull(checkpoints, "checkpoints");
        trust = trust == null ? TrustPolicy.trustingAll() : trust;
        fetch = fetch == null ? FetchPolicy.DEFAULT : fetch;
        stateDir = absolute("stateDir", stateDir);
        runtimeDir = absolute("runtimeDir", runtimeDir);
        if (unmountBusyRetry == null || unmountBusyRetry.isNegative()) {
            throw new IllegalArgumentException("unmountBusyRetry (" + unmountBusyRetry + ") must be zero or positive");
        }
        ChunkCache.checkChunkSize(chunkSize);
        if (cacheMaxBytes < chunkSize) {
            throw new IllegalArgumentException("cache size (" + cacheMaxBytes + ") must hold at least one chunk ("
                    + chunkSize + ")");
        }
    }

    /** Default chunk size and a cache budget sized for the state dir's disk. */
    public MountManagerConfig(Path stateDir, Path runtimeDir, TemplateStore store, Attachers attachers,
                              Duration unmountBusyRetry) {
        this(stateDir, runtimeDir, store, attachers, unmountBusyRetry, DEFAULT_CHUNK_SIZE, defaultCacheMax(stateDir),
                WriteFormat.DEFAULT, Checkpoints.NONE, TrustPolicy.trustingAll(), FetchPolicy.DEFAULT);
    }

    /** Default dirs, this host's backends with e2b's default pool size, 3 s of unmount retries. */
    public static MountManagerConfig defaults(TemplateStore store) {
        return new MountManagerConfig(DEFAULT_STATE_DIR, DEFAULT_RUNTIME_DIR, store,
                Attachers.onThisHost(DEFAULT_NBD_POOL_SIZE), DEFAULT_UNMOUNT_BUSY_RETRY);
    }

    /** Half the free space of the state dir's filesystem, at most 16 GiB (and at least one default chunk). */
    public static long defaultCacheMax(Path stateDir) {
        Path existing = stateDir.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        try {
            long usable = Files.getFileStore(existing == null ? Path.of("/") : existing).getUsableSpace();
            return Math.max(DEFAULT_CHUNK_SIZE, Math.min(DEFAULT_CACHE_MAX_CEILING, usable / 2));
        } catch (IOException e) {
            return DEFAULT_CACHE_MAX_CEILING;
        }
    }

    public MountManagerConfig withDirs(Path state, Path runtime) {
        return new MountManagerConfig(state, runtime, store, attachers, unmountBusyRetry, chunkSize, cacheMaxBytes,
                writeFormat, checkpoints, trust, fetch);
    }

    public MountManagerConfig withAttachers(Attachers value) {
        return new MountManagerConfig(stateDir, runtimeDir, store, value, unmountBusyRetry, chunkSize, cacheMaxBytes,
                writeFormat, checkpoints, trust, fetch);
    }

    public MountManagerConfig withUnmountBusyRetry(Duration value) {
        return new MountManagerConfig(stateDir, runtimeDir, store, attachers, value, chunkSize, cacheMaxBytes,
                writeFormat, checkpoints, trust, fetch);
    }

    public MountManagerConfig withCache(int chunk, long maxBytes) {
        return new MountManagerConfig(stateDir, runtimeDir, store, attachers, unmountBusyRetry, chunk, maxBytes,
                writeFormat, checkpoints, trust, fetch);
    }

    public MountManagerConfig withWriteFormat(WriteFormat value) {
        return new MountManagerConfig(stateDir, runtimeDir, store, attachers, unmountBusyRetry, chunkSize,
                cacheMaxBytes, value, checkpoints, trust, fetch);
    }

    /** Where a crash test stops the process (see {@link Checkpoints}). */
    public MountManagerConfig withCheckpoints(Checkpoints value) {
        return new MountManagerConfig(stateDir, runtimeDir, store, attachers, unmountBusyRetry, chunkSize,
                cacheMaxBytes, writeFormat, value, trust, fetch);
    }

    /** Which templates the host kernel may read; see {@link TrustPolicy}. */
    public MountManagerConfig withTrust(TrustPolicy value) {
        return new MountManagerConfig(stateDir, runtimeDir, store, attachers, unmountBusyRetry, chunkSize,
                cacheMaxBytes, writeFormat, checkpoints, value, fetch);
    }

    /** How chunks are fetched: in flight at once, read-ahead, and whether a local store is read directly. */
    public MountManagerConfig withFetch(FetchPolicy value) {
        return new MountManagerConfig(stateDir, runtimeDir, store, attachers, unmountBusyRetry, chunkSize,
                cacheMaxBytes, writeFormat, checkpoints, trust, value);
    }

    private static Path absolute(String name, Path path) {
        if (path == null || !path.isAbsolute()) {
            throw new IllegalArgumentException(name + " (" + path + ") must be an absolute path");
        }
        return path.normalize();
    }
}
