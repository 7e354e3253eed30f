package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.device.Attacher;
import io.tmount.image.BuildImages;
import io.tmount.image.CacheBudget;
import io.tmount.image.CacheStats;
import io.tmount.image.WriteFormat;
import io.tmount.metrics.Metrics;
import io.tmount.progress.Progress;
import io.tmount.progress.ProgressCounter;
import io.tmount.nbd.PayloadMemory;
import io.tmount.os.Descriptors;
import io.tmount.os.FilesystemMounter;
import io.tmount.os.SandboxUsers;
import io.tmount.os.UserspaceExt4;
import io.tmount.os.MountTable;
import io.tmount.os.PathHolders;
import io.tmount.serve.ServedImages;
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
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;

/**
 * Mounts template builds onto host paths, unmounts them and commits their changes: the seed's Mount Manager.
 * Thread-safe: operations on different paths proceed in parallel; a path is reserved while it is being mounted,
 * unmounted or committed, so the same path twice is refused. Owns its state and runtime dirs (locked), the shared
 * chunk cache and every mount made through it; {@link #close()} waits for operations in flight and unmounts all.
 */
public final class MountManager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(MountManager.class);

    /** The chunk cache as a whole: its budget, what it holds, and per build object what it cost. */
    public record CacheReport(long maxBytes, long usedBytes, List<CacheStats> objects) {
    }

    private final MountManagerConfig config;
    private final List<StateDirLock> locks;
    private final MountPaths paths;
    /** What a mount holds (server, overlay files, nbdfuse's connection, loop) and its set-up's processes take. */
    private static final int MOUNT_DESCRIPTORS = 16;
    /** How far up its parents a build's trust is traced. */
    private static final int MAX_ANCESTORS = 1000;
    /** How long fuse2fs gets to open a filesystem: a hostile image must not hold a mount call for ever. */
    private static final java.time.Duration FUSE2FS_READY = java.time.Duration.ofSeconds(30);

    private final Descriptors descriptors = Descriptors.ofThisProcess();
    private final MountTable mountTable;
    private final MountFilesystems filesystems;
    private final BuildImages images;
    private final MountJournal journal;
    private final MountAssembler assembler;
    private final MountCommitter committer;
    private final MountUnmounter unmounter;
    private final MountSlots slots = new MountSlots();
    private final Metrics metrics;
    private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
    private boolean closed;

    private MountManager(MountManagerConfig config, ServedImages served, List<StateDirLock> locks,
                         MountTable mountTable) {
        this.config = config;
        this.locks = locks;
        this.mountTable = mountTable;
        List<Path> own = new ArrayList<>(List.of(config.stateDir(), config.runtimeDir()));
        config.store().objects().localRoot().ifPresent(own::add);
        this.paths = new MountPaths(own, mountTable);
        this.filesystems = new MountFilesystems(
                new FilesystemMounter(mountTable, PathHolders.ofThisHost(), config.unmountBusyRetry()),
                new UserspaceExt4(mountTable, SandboxUsers.ofThisHost(), UserspaceExt4.Limits.defaults(),
                        FUSE2FS_READY), config.runtimeDir().resolve("mounts"));
        this.images = served.images();
        this.metrics = served.metrics();
        this.journal = new MountJournal(config.stateDir().resolve("mounts"));
        this.assembler = new MountAssembler(served, journal, filesystems, config.runtimeDir().resolve("mounts"),
                config.checkpoints());
        this.committer = new MountCommitter(filesystems, config.store(), config.checkpoints());
        this.unmounter = new MountUnmounter(slots, journal, filesystems, mountTable,
                config.stateDir().resolve("orphans"), config.checkpoints());
    }

    /** The build images (store, chunk caches in the state dir, cache budget) a configuration describes. */
    public static BuildImages imagesFor(MountManagerConfig config) {
        return new BuildImages(config.store(), config.stateDir().resolve("cache"), config.chunkSize(),
                new CacheBudget(config.cacheMaxBytes()), config.fetch());
    }

    /**
     * Takes ownership of the state and runtime dirs (refused while another process holds either), then takes apart
     * what an earlier process left in the journal and brings its mounts back from their overlays.
     */
    public static MountManager open(MountManagerConfig config) {
        return open(config, () -> {
        });
    }

    /** The read traces of builds a configuration keeps ({@code STATE_DIR/traces}); null when its window is zero. */
    public static io.tmount.prefetch.Traces tracesFor(MountManagerConfig config) {
        return config.fetch().traceWindow().isZero() ? null : new io.tmount.prefetch.Traces(
                config.stateDir().resolve("traces"), config.fetch().traceWindow(), config.chunkSize());
    }

    /**
     * The same; {@code whenLocked} runs once both dirs are locked, before the journal's mounts are taken apart: for
     * what must stop first because it holds them busy (the RUN steps of builds of the dead run, {@code BuildLeftovers}).
     */
    public static MountManager open(MountManagerConfig config, Runnable whenLocked) {
        return open(config, new ServedImages(imagesFor(config), PayloadMemory.ofThisJvm().mounts(),
                io.tmount.metrics.Metrics.unregistered(), "mount", tracesFor(config)), whenLocked);
    }

    /**
     * The same, serving its mounts' images through {@code served}, whose chunk caches it may share with others (a
     * {@code TmountHost}'s exports).
     */
    public static MountManager open(MountManagerConfig config, ServedImages served, Runnable whenLocked) {
        List<StateDirLock> locks = new ArrayList<>();
        try {
            locks.add(StateDirLock.acquire(config.stateDir(), "state dir"));
            locks.add(StateDirLock.acquire(config.runtimeDir(), "runtime dir"));
        } catch (IOException | RuntimeException e) {
            releaseAll(locks, e);
            throw e instanceof TmountException te ? te : TmountException.failed(e, "cannot lock %s", config.stateDir());
        }
        MountManager manager = null;
        // off the caller's path: loading the native codecs takes half a second, the first compressed mount need not
        Thread.ofVirtual().name("codec-preload").start(io.tmount.compress.FrameCodec::preloadQuietly);
        try {
            MountTable mountTable = MountTable.ofThisProcess();
            manager = new MountManager(config, served, locks, mountTable);
            whenLocked.run();
            new MountRecovery(manager.journal, config.attachers(), manager.filesystems, mountTable,
                    config.runtimeDir().resolve("mounts"), config.stateDir().resolve("orphans"), config.store())
                    .run(manager::restore);
            return manager;
        } catch (IOException | RuntimeException e) {
            if (manager != null) {
                manager.close();
            } else {
                releaseAll(locks, e);
            }
            throw e instanceof TmountException te ? te : TmountException.failed(e, "cannot open state dir %s", config.stateDir());
        }
    }

    public TemplateStore store() {
        return config.store();
    }

    public Path stateDir() {
        return config.stateDir();
    }

    /** Checks the build's chain before it is mounted; a build that fails is refused, naming what is wrong. */
    private void verify(BuildId build) {
        List<String> problems = new io.tmount.image.BuildVerifier(config.store()).verify(build).stream()
                .flatMap(check -> check.problems().stream().map(p -> check.build() + ": " + p)).toList();
        if (!problems.isEmpty()) {
            throw new TmountException(TmountException.Kind.FAILED, "build " + build + " fails verification, so it is "
                    + "not mounted: " + String.join("; ", problems));
        }
        log.info("build {} verified before mounting", build);
    }

    /** How commits write new builds unless told otherwise. */
    public WriteFormat writeFormat() {
        return config.writeFormat();
    }

    public BuildImages images() {
        return images;
    }

    /**
     * The options under the trust policy: by the template asked for and every template the build descends from:
     * each layer its header maps, and each build its metadata names as parent, all the way up (a commit can rewrite
     * every block of an untrusted parent and still carry what it chose to keep). A build without metadata, or whose
     * metadata names no template, counts as the policy's default.
     */
    private MountOptions trusted(TemplateId template, BuildId build, MountOptions options) {
        TrustPolicy policy = config.trust();
        if (policy.trustsAll()) {
            return policy.apply(template, options);
        }
        config.store().resolve(template, build);
        java.util.Set<TemplateId> chain = new java.util.HashSet<>();
        chain.add(template);
        if (options.descendsFrom() != null) {
            chain.add(options.descendsFrom());
        }
        java.util.Set<BuildId> seen = new java.util.HashSet<>();
        java.util.Deque<BuildId> pending = new java.util.ArrayDeque<>(images.layout(build).folders().values());
        pending.add(build);
        while (!pending.isEmpty() && seen.size() < MAX_ANCESTORS) {
            BuildId next = pending.removeFirst();
            if (!seen.add(next)) {
                continue;
            }
            var metadata = config.store().metadata(next);
            chain.add(metadata.map(io.tmount.store.BuildMetadata::templateId).orElse(null));
            metadata.map(io.tmount.store.BuildMetadata::parentBuildId).ifPresent(pending::add);
        }
        if (!pending.isEmpty()) {
            chain.add(null); // an ancestry too long to follow: as trusted as an unknown build
        }
        return policy.apply(template, chain, options);
    }

    /** Mounts a template build, as the seed's {@code MountTemplate(ctx, templateID, buildID, mountPath)}. */
    public MountInfo mountTemplate(String templateId, String buildId, String mountPath, MountOptions options) {
        return mountTemplate(TemplateId.of(templateId), BuildId.of(buildId), paths.validate(mountPath), options);
    }

    public MountInfo mountTemplate(TemplateId template, BuildId build, Path mountPath, MountOptions options) {
        lifecycle.readLock().lock();
        try {
            checkOpen();
            Path path = paths.validate(mountPath.toString());
            descriptors.require(MOUNT_DESCRIPTORS, "mount template " + template + " build " + build + " at " + path);
            MountOptions opts = trusted(template, build, options == null ? MountOptions.defaults() : options);
            Attacher attacher = config.attachers().select(opts.attach());
            long start = System.nanoTime();
            boolean ok = false;
            try {
                MountInfo info = mount(newId(), template, build, path, opts, attacher, new MountOrigin.Fresh());
                ok = true;
                return info;
            } finally {
                metrics.mounted(ok, System.nanoTime() - start);
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private MountInfo mount(String id, TemplateId template, BuildId build, Path path, MountOptions options,
                            Attacher attacher, MountOrigin origin) {
        slots.reserve(path);
        long start = System.nanoTime();
        try {
            slots.refuseCovering(path);
            paths.checkNotMounted(path);
            if (origin instanceof MountOrigin.Fresh && !options.allowNonEmpty()) {
                MountPaths.refuseNonEmpty(path); // a restore goes back where the mount was allowed before
            }
            config.store().resolve(template, build);
            if (options.verify()) {
                verify(build);
            }
            ActiveMount mount = assembler.assemble(id, template, build, path, options, attacher,
                    origin.folders(path, slots), origin);
            slots.put(path, mount);
            MountInfo info = mount.info();
            log.info("mounted template {} build {} at {} ({}, {} via {}, engine {}) in {} ms", template, build, path,
                    info.readOnly() ? "read-only" : "writable", info.devicePath(), info.attach(), info.engine(),
                    millisSince(start));
            return info;
        } catch (IOException | RuntimeException e) {
            slots.free(path);
            String cleanup = e.getSuppressed().length == 0 ? ""
                    : "; cleaning up also failed: " + java.util.Arrays.stream(e.getSuppressed())
                    .map(Throwable::getMessage).collect(Collectors.joining("; "));
            if (cleanup.isEmpty()) {
                log.info("mount of template {} build {} at {} failed after {} ms: {}", template, build, path,
                        millisSince(start), e.getMessage());
            } else {
                log.error("mount of template {} build {} at {} failed after {} ms", template, build, path,
                        millisSince(start), e);
            }
            if (e instanceof TmountException te) {
                throw cleanup.isEmpty() ? te : new TmountException(te.kind(), te.getMessage() + cleanup, te);
            }
            throw TmountException.failed(e, "cannot mount template %s build %s at %s%s", template, build, path, cleanup);
        }
    }

    /** Brings back a mount from the journal of an earlier run (its overlay or local copy is reused). */
    private MountInfo restore(JournalEntry entry) {
        MountInfo info = entry.info();
        MountOptions journaled = new MountOptions(info.readOnly(), info.attach(), info.engine()).withFs(info.fs());
        // the policy may have changed since (an operator restarted with a template untrusted): the stricter mode wins
        MountOptions options = info.fs() == FilesystemMode.USERSPACE ? journaled
                : trusted(info.templateId(), info.buildId(), journaled.withFs(null)).withFsck(false);
        Attacher attacher = config.attachers().forRestore(info.attach(), info.id() + " at " + info.mountPath());
        return mount(info.id(), info.templateId(), info.buildId(), info.mountPath(), options, attacher,
                new MountOrigin.Restored(entry.createdDirs()));
    }

    /** Unmounts what tmount mounted at the path and releases everything the mount held (its overlay included). */
    public Optional<Path> unmountTemplate(String mountPath) {
        return unmountTemplate(Path.of(mountPath));
    }

    /**
     * Unmounts; a writable mount's uncommitted changes are discarded (commit is how they persist), except when its
     * filesystem went read-only after an error: then they cannot have been committed as usual, and its state
     * folder is kept under {@code orphans/} for the operator. Returns that folder, when kept.
     */
    public Optional<Path> unmountTemplate(Path mountPath) {
        lifecycle.readLock().lock();
        long start = System.nanoTime();
        boolean ok = false;
        try {
            Optional<Path> kept = unmounter.unmount(activePath(mountPath), false);
            ok = true;
            return kept;
        } finally {
            metrics.unmounted(ok, System.nanoTime() - start);
            lifecycle.readLock().unlock();
        }
    }

    private static Path activePath(Path mountPath) {
        if (!mountPath.isAbsolute()) {
            throw TmountException.invalid("mount path '%s' must be absolute", mountPath);
        }
        return mountPath.normalize();
    }

    /**
     * Persists the changes of a writable mount as a new layered build over the mounted one ({@code newBuild} null:
     * a new UUID). The filesystem is frozen meanwhile; the mount stays usable and keeps its changes. A mount without
     * changes stores nothing: the result says so.
     */
    public CommitResult commit(Path mountPath, BuildId newBuild) {
        return commit(mountPath, newBuild, null, false);
    }

    /**
     * The same, with the new build's template ({@code template} null: the mounted build's) and, with
     * {@code evenWithoutChanges}, a new build also when nothing changed (a layer holding none of its own blocks).
     */
    public CommitResult commit(Path mountPath, BuildId newBuild, TemplateId template, boolean evenWithoutChanges) {
        return commit(mountPath, newBuild, template, evenWithoutChanges, null);
    }

    /**
     * The same, writing the new build with {@code format} (compression and header version; null: the configured
     * {@link MountManagerConfig#writeFormat()}).
     */
    public CommitResult commit(Path mountPath, BuildId newBuild, TemplateId template, boolean evenWithoutChanges,
                               WriteFormat format) {
        return commit(mountPath, newBuild, template, evenWithoutChanges, format, Progress.NONE);
    }

    /** The same, telling {@code progress} how many bytes of the new build were packed, checked and stored. */
    public CommitResult commit(Path mountPath, BuildId newBuild, TemplateId template, boolean evenWithoutChanges,
                               WriteFormat format, Progress progress) {
        return commit(mountPath, newBuild, template, evenWithoutChanges, false, format, progress);
    }

    /**
     * Commits the changes of an ephemeral writable mount (a template build's root) as a new layered build, like
     * {@link #commit}, and then treats the mount as one of that build: the next commit holds only the changes made
     * after this one, layered on it. So each step of a build becomes a layer of its own. A mount with nothing changed
     * stores nothing and stays as it is (the result says so). Only ephemeral mounts: a mount brought back after a
     * crash comes back as its journal names it, on the build it was first mounted from. If the new build's layout
     * cannot be read back, the call fails and the mount must not be committed again (a build then fails, and takes
     * its root down).
     */
    public CommitResult commitAndAdvance(Path mountPath, BuildId newBuild, TemplateId template, WriteFormat format) {
        return commit(mountPath, newBuild, template, false, true, format, Progress.NONE);
    }

    private CommitResult commit(Path mountPath, BuildId newBuild, TemplateId template, boolean evenWithoutChanges,
                                boolean advance, WriteFormat format, Progress progress) {
        lifecycle.readLock().lock();
        try {
            checkOpen();
            Path path = activePath(mountPath);
            BuildId id = newBuild == null ? BuildId.random() : newBuild;
            ActiveMount mount = slots.take(path, MountSlots.Busy.COMMITTING);
            ActiveMount after = mount;
            try {
                if (advance && !journal.read(mount.info().id()).ephemeral()) {
                    throw TmountException.invalid("%s is not an ephemeral mount: only a build root advances onto "
                            + "its commits", path);
                }
                TemplateId target = template == null ? mount.info().templateId() : template;
                CommitResult result = committer.commit(mount, id, target, evenWithoutChanges, advance,
                        journal.dirOf(mount.info().id()), format == null ? config.writeFormat() : format,
                        new ProgressCounter(progress));
                if (advance && result.changed()) {
                    after = new ActiveMount(mount.info().withBuild(target, result.build()), images.layout(result.build()),
                            mount.overlay(), mount.createdDirs(), mount.resources(), mount.bookkeeping(), mount.probe(),
                            mount.committedMutations());
                }
                return result;
            } catch (IOException e) {
                throw TmountException.failed(e, "cannot commit %s", path);
            } finally {
                slots.put(path, after);
            }
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    /**
     * Whether a commit of the mount leaves its filesystem in place (the kernel's, frozen meanwhile), so that mounts
     * inside it do not stand in the way; a userspace-mode filesystem (fuse2fs cannot be frozen) is taken off its
     * path while the build is stored.
     */
    public boolean commitsInPlace(Path mountPath) {
        return slots.active(mountPath.toAbsolutePath().normalize())
                .orElseThrow(() -> TmountException.notFound("nothing is mounted by tmount at %s", mountPath))
                .info().fs() == FilesystemMode.KERNEL;
    }

    /** The active mounts, oldest first, each with what is wrong with it right now ({@link MountInfo#problem()}). */
    public List<MountInfo> listMounts() {
        return MountHealth.check(slots.active(), mountTable);
    }

    /**
     * Whether the writable mount at {@code mountPath} holds writes no commit has stored: since it was mounted or
     * last committed, or, for a mount restored after a crash, anything its overlay kept. False for other mounts.
     */
    /** Bytes each writable mount's overlay holds (blocks of its own data), by mount path. */
    public java.util.Map<Path, Long> overlayBytes() {
        java.util.Map<Path, Long> bytes = new java.util.TreeMap<>();
        for (ActiveMount mount : slots.active()) {
            if (mount.overlay() != null) {
                bytes.put(mount.info().mountPath(), mount.overlay().ownBlocks() * io.tmount.image.Overlay.BLOCK);
            }
        }
        return bytes;
    }

    public boolean hasUncommittedChanges(Path mountPath) {
        return slots.active(mountPath.toAbsolutePath().normalize())
                .orElseThrow(() -> TmountException.notFound("nothing is mounted by tmount at %s", mountPath))
                .changedSinceCommit();
    }

    public CacheReport cacheReport() {
        return new CacheReport(images.budget().maxBytes(), images.budget().usedBytes(), images.stats());
    }

    /** Unmounts every active mount; reports every failure, not just the first. */
    public void unmountAll() {
        lifecycle.readLock().lock();
        try {
            unmountEvery(false);
        } finally {
            lifecycle.readLock().unlock();
        }
    }

    private void unmountEvery(boolean lazyIfBusy) {
        List<String> failures = new ArrayList<>();
        TmountException first = null;
        // deepest first, so mounts inside other mounts go before them
        List<MountInfo> mounts = new ArrayList<>(listMounts());
        mounts.sort(Comparator.comparing((MountInfo m) -> m.mountPath().getNameCount()).reversed());
        for (MountInfo info : mounts) {
            try {
                unmounter.unmount(info.mountPath(), lazyIfBusy);
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
     * Waits for operations in flight, refuses new ones, unmounts everything (a mount still busy after the retries is
     * detached lazily, since its server goes away with this manager), closes the cache and releases the dirs.
     */
    @Override
    public void close() {
        lifecycle.writeLock().lock();
        try {
            if (closed) {
                return; // closed once already, with its cache and locks
            }
            closed = true;
            try {
                unmountEvery(true);
            } finally {
                try {
                    images.close();
                } catch (IOException e) {
                    log.warn("cannot close the chunk cache: {}", e.getMessage());
                }
                releaseAll(locks, null);
            }
        } finally {
            lifecycle.writeLock().unlock();
        }
    }

    private static void releaseAll(List<StateDirLock> locks, Throwable onto) {
        for (StateDirLock lock : locks.reversed()) {
            try {
                lock.close();
            } catch (IOException e) {
                if (onto != null) {
                    onto.addSuppressed(e);
                } else {
                    log.warn("cannot release a lock: {}", e.getMessage());
                }
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE, "the mount manager is shutting down");
        }
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
