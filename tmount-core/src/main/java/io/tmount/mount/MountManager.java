package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.device.Attacher;
import io.tmount.os.MountTable;
import io.tmount.os.PathHolders;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Mounts template builds onto host paths and unmounts them: the seed's Mount Manager. Thread-safe: mounts at
 * different paths proceed in parallel; a path is reserved while it is being mounted or unmounted, so the same path
 * twice is refused. Owns its state dir (locked) and every mount made through it; {@link #close()} unmounts them all.
 */
public final class MountManager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MountManager.class);

    /** What a mount path holds: a mount in progress, or an active mount. */
    sealed interface Slot permits Busy, ActiveMount {
    }

    private enum Busy implements Slot { MOUNTING, UNMOUNTING }

    private final MountManagerConfig config;
    private final StateDirLock lock;
    private final MountPaths paths;
    private final FilesystemMounter filesystems;
    private final MountAssembler assembler;
    private final ConcurrentHashMap<Path, Slot> slots = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private MountManager(MountManagerConfig config, StateDirLock lock, MountTable mountTable) {
        this.config = config;
        this.lock = lock;
        this.paths = new MountPaths(List.of(config.stateDir(), config.runtimeDir()), mountTable);
        this.filesystems = new FilesystemMounter(mountTable, PathHolders.ofThisHost(), config.unmountBusyRetry());
        MountJournal journal = new MountJournal(config.stateDir().resolve("mounts"));
        this.assembler = new MountAssembler(config.store(), journal, filesystems, config.runtimeDir().resolve("mounts"));
    }

    /**
     * Takes ownership of the state dir (refused while another process holds it) and reclaims whatever an earlier
     * process left in its journal.
     */
    public static MountManager open(MountManagerConfig config) {
        StateDirLock lock;
        try {
            lock = StateDirLock.acquire(config.stateDir());
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot lock state dir %s", config.stateDir());
        }
        try {
            MountTable mountTable = MountTable.ofThisProcess();
            MountManager manager = new MountManager(config, lock, mountTable);
            new MountRecovery(new MountJournal(config.stateDir().resolve("mounts")), config.attachers(),
                    manager.filesystems, mountTable, config.runtimeDir().resolve("mounts")).run();
            return manager;
        } catch (IOException | RuntimeException e) {
            try {
                lock.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e instanceof TmountException te ? te : TmountException.failed(e, "cannot open state dir %s", config.stateDir());
        }
    }

    public TemplateStore store() {
        return config.store();
    }

    /** Mounts a template build, as the seed's {@code MountTemplate(ctx, templateID, buildID, mountPath)}. */
    public MountInfo mountTemplate(String templateId, String buildId, String mountPath, MountOptions options) {
        return mountTemplate(TemplateId.of(templateId), BuildId.of(buildId), paths.validate(mountPath), options);
    }

    public MountInfo mountTemplate(TemplateId template, BuildId build, Path mountPath, MountOptions options) {
        checkOpen();
        Path path = paths.validate(mountPath.toString());
        MountOptions opts = options == null ? MountOptions.defaults() : options;
        Attacher attacher = config.attachers().select(opts.attach());
        Slot existing = slots.putIfAbsent(path, Busy.MOUNTING);
        if (existing != null) {
            throw duplicate(path, existing);
        }
        long start = System.nanoTime();
        try {
            paths.checkNotMounted(path);
            config.store().resolve(template, build);
            ActiveMount mount = assembler.assemble(newId(), template, build, path, opts, attacher);
            slots.put(path, mount);
            MountInfo info = mount.info();
            log.info("mounted template {} build {} at {} ({}, {} via {}, engine {}) in {} ms", template, build, path,
                    info.readOnly() ? "read-only" : "writable", info.devicePath(), info.attach(), info.engine(),
                    millisSince(start));
            return info;
        } catch (IOException | RuntimeException e) {
            slots.remove(path);
            log.info("mount of template {} build {} at {} failed after {} ms: {}", template, build, path,
                    millisSince(start), e.getMessage());
            if (e instanceof TmountException te) {
                throw te;
            }
            throw TmountException.failed(e, "cannot mount template %s build %s at %s", template, build, path);
        }
    }

    /** Unmounts what tmount mounted at the path and releases everything the mount held. */
    public void unmountTemplate(String mountPath) {
        unmountTemplate(Path.of(mountPath));
    }

    public void unmountTemplate(Path mountPath) {
        if (!mountPath.isAbsolute()) {
            throw TmountException.invalid("mount path '%s' must be absolute", mountPath);
        }
        Path path = mountPath.normalize();
        unmount(path, false);
    }

    private void unmount(Path path, boolean lazyIfBusy) {
        Slot slot = slots.get(path);
        if (slot == null) {
            throw TmountException.notFound("nothing is mounted by tmount at %s", path);
        }
        if (!(slot instanceof ActiveMount mount) || !slots.replace(path, mount, Busy.UNMOUNTING)) {
            throw TmountException.conflict("%s is being mounted or unmounted right now", path);
        }
        long start = System.nanoTime();
        try {
            filesystems.unmount(path);
        } catch (IOException | RuntimeException e) {
            if (!lazyIfBusy) {
                slots.put(path, mount);
                throw e instanceof TmountException te ? te : TmountException.failed(e, "cannot unmount %s", path);
            }
            try {
                filesystems.unmountLazily(path);
                log.warn("{} stayed busy ({}); detached it lazily", path, e.getMessage());
            } catch (IOException lazy) {
                e.addSuppressed(lazy);
                slots.put(path, mount);
                throw TmountException.failed(e, "cannot unmount %s", path);
            }
        }
        try {
            mount.release();
        } catch (IOException e) {
            throw TmountException.failed(e, "unmounted %s, but releasing its resources failed (kept in the journal "
                    + "for the next start to reclaim)", path);
        } finally {
            slots.remove(path);
        }
        MountInfo info = mount.info();
        log.info("unmounted template {} build {} from {} (released {}) in {} ms", info.templateId(), info.buildId(),
                path, info.devicePath(), millisSince(start));
    }

    /** The active mounts, oldest first. */
    public List<MountInfo> listMounts() {
        return slots.values().stream()
                .filter(ActiveMount.class::isInstance)
                .map(s -> ((ActiveMount) s).info())
                .sorted(Comparator.comparing(MountInfo::createdAt))
                .toList();
    }

    /** Unmounts every active mount; reports every failure, not just the first. */
    public void unmountAll() {
        unmountEvery(false);
    }

    private void unmountEvery(boolean lazyIfBusy) {
        List<String> failures = new ArrayList<>();
        TmountException first = null;
        for (MountInfo info : listMounts()) {
            try {
                unmount(info.mountPath(), lazyIfBusy);
            } catch (TmountException e) {
                failures.add(e.getMessage());
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw new TmountException(first.kind(), failures.size() + " mount(s) could not be unmounted: "
                    + String.join("; ", failures), first);
        }
    }

    /**
     * Refuses new mounts, unmounts everything (a mount still busy after the retries is detached lazily, since its
     * server goes away with this manager), and releases the state dir.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            unmountEvery(true);
        } finally {
            try {
                lock.close();
            } catch (IOException e) {
                log.warn("cannot release the state dir lock: {}", e.getMessage());
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE, "the mount manager is shutting down");
        }
    }

    private TmountException duplicate(Path path, Slot existing) {
        if (existing instanceof ActiveMount active) {
            return TmountException.conflict("%s is already mounted (template %s build %s)", path,
                    active.info().templateId(), active.info().buildId());
        }
        return TmountException.conflict("%s is being mounted or unmounted right now", path);
    }

    private static String newId() {
        byte[] bytes = new byte[6];
        ThreadLocalRandom.current().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
