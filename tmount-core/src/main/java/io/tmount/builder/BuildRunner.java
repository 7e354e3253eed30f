package io.tmount.builder;

import io.tmount.TmountException;
import io.tmount.buildcache.BuildCache;
import io.tmount.buildcache.CacheEntry;
import io.tmount.buildcache.StepKey;
import io.tmount.image.BuildWriter;
import io.tmount.image.ChainWriter;
import io.tmount.image.WriteFormat;
import io.tmount.store.BuildMetadata;
import io.tmount.store.StepBuild;
import io.tmount.store.TemplateId;
import io.tmount.template.Ext4Images;
import io.tmount.metrics.Metrics;
import io.tmount.mount.Checkpoints;
import io.tmount.mount.MountManager;
import io.tmount.os.Descriptors;
import io.tmount.os.Folders;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runs template builds: mounts the base build copy-on-write (or a new empty filesystem) as the build root, runs the
 * steps in order (MOUNT and UNMOUNT mount other templates inside the root through the MountManager), unmounts what
 * the steps left mounted, and commits the root as a new build. A failing step takes down every mount and overlay of
 * the build and leaves the store as it was.
 */
public final class BuildRunner {

    private static final Logger log = LoggerFactory.getLogger(BuildRunner.class);


    private final MountManager manager;
    private final Path buildsDir;
    private final Checkpoints checkpoints;
    private final Metrics metrics;
    private final RunningSteps running = new RunningSteps();
    /** What COPY sources hold, remembered across this runner's builds (a rebuild stats them instead of reading). */
    private final ContentHashes contents = new ContentHashes();
    private final Descriptors descriptors = Descriptors.ofThisProcess();
    /** A build's root mount, a MOUNT step or two, and the processes of its steps. */
    private static final int BUILD_DESCRIPTORS = 48;

    /** {@code buildsDir}: where build roots are mounted while a build runs (outside tmount's state dir). */
    public BuildRunner(MountManager manager, Path buildsDir) {
        this(manager, buildsDir, Checkpoints.NONE);
    }

    /** The same, stopping at {@link Checkpoints#buildStep} points (for the crash tests). */
    public BuildRunner(MountManager manager, Path buildsDir, Checkpoints checkpoints) {
        this(manager, buildsDir, checkpoints, Metrics.unregistered());
    }

    /** The same, counting builds by result and timing steps in {@code metrics}. */
    public BuildRunner(MountManager manager, Path buildsDir, Checkpoints checkpoints, Metrics metrics) {
        this.manager = manager;
        this.buildsDir = buildsDir.toAbsolutePath().normalize();
        this.checkpoints = checkpoints;
        this.metrics = metrics;
    }

    /** How builds are written unless a run says otherwise. */
    public WriteFormat writeFormat() {
        return manager.writeFormat();
    }

    public BuildResult run(TemplateFile file, BuildId newBuild, BuildLog out) {
        return run(file, newBuild, BuildOptions.DEFAULTS, out);
    }

    /** The same, writing the new build with {@code format} (null: the mount manager's configured format). */
    public BuildResult run(TemplateFile file, BuildId newBuild, WriteFormat format, BuildLog out) {
        return run(file, newBuild, BuildOptions.DEFAULTS.withFormat(format), out);
    }

    /** The same, as {@code options} say (build cache, squash, format). */
    public BuildResult run(TemplateFile file, BuildId newBuild, BuildOptions options, BuildLog out) {
        descriptors.require(BUILD_DESCRIPTORS, "start a build of template " + file.template());
        running.buildStarted();
        boolean ok = false;
        try {
            BuildResult result = build(file, newBuild, options, out);
            ok = true;
            return result;
        } finally {
            metrics.built(ok);
            running.buildEnded();
        }
    }

    /**
     * Refuses new builds, ends the RUN steps of running ones (they fail, taking down their roots) and waits up to
     * {@code wait} for them; for a stopping daemon, before it unmounts what is left. True when every build ended.
     */
    public boolean stop(Duration wait) {
        return running.stopAll(wait);
    }

    /**
     * The steps the build cache answers are skipped (see {@link CachedSteps}); from the first that it does not, the
     * build root is the build so far, mounted copy-on-write, and each step that changed it is committed as a layer
     * of its own and recorded in the cache. The new build is then a layer over the last one with nothing of its own
     * (or, squashed, the whole content as one layer): a build whose every step is cached mounts nothing.
     */
    private BuildResult build(TemplateFile file, BuildId newBuild, BuildOptions options, BuildLog out) {
        WriteFormat format = options.format() == null ? manager.writeFormat() : options.format();
        long start = System.nanoTime();
        TemplateStore store = manager.store();
        BuildId id = newBuild == null ? BuildId.random() : newBuild;
        if (store.exists(id)) {
            throw TmountException.conflict("build '%s' already exists in template store %s", id, store.url());
        }
        store.checkNewBuildId(id);
        if (file.from() instanceof TemplateFile.FromBuild base) {
            store.resolve(base.template(), base.build());
        }
        Path work = newWorkFolder();
        int total = file.steps().size();
        out.line("building template " + file.template() + " as build " + id + " from " + file.from()
                + " (" + total + " step" + (total == 1 ? "" : "s") + ")");
        BuildCache cache = new BuildCache(store);
        StepKeys keys = new StepKeys(file.context(), contents);
        try {
            BuildId base = switch (file.from()) {
                case TemplateFile.FromBuild from -> from.build();
                case TemplateFile.Empty empty -> emptyBase(empty, file.template(), cache, options, format, work, out);
            };
            CachedSteps lookup = new CachedSteps(cache, keys, file.template(), options);
            CachedSteps.Resume resume = lookup.replay(file.steps(), base, out);
            List<StepBuild> done = new ArrayList<>(resume.done());
            TemplateId baseTemplate = file.from() instanceof TemplateFile.FromBuild from ? from.template()
                    : file.template();
            StepRunner.Services services = new StepRunner.Services(manager, cache, keys, lookup, options, format,
                    checkpoints, metrics, running, baseTemplate);
            BuildId last = resume.endCached() ? resume.build()
                    : new StepRunner(services, file, work.resolve("root"), done, out).run(resume);
            ChainWriter chain = new ChainWriter(manager.images(), work.resolve("scratch"));
            List<StepBuild> steps = List.copyOf(done);
            if (options.squash()) {
                out.line("squashing the chain of build " + last + " into build " + id);
                chain.squash(last, id, file.template(), format, m -> m.withSteps(steps));
            } else {
                chain.alias(last, id, file.template(), format, m -> m.withSteps(steps));
            }
            int cached = (int) steps.stream().filter(s -> s.cached() && s.build() != null).count();
            BuildResult result = new BuildResult(id, file.template(), options.squash() ? null : last, total,
                    millisSince(start), steps, cached);
            out.line("built template " + file.template() + " build " + id + " in " + result.millis() + " ms ("
                    + result.cachedSteps() + " step" + (result.cachedSteps() == 1 ? "" : "s") + " cached)");
            log.info("built template {} build {} ({} steps, {} cached) in {} ms", file.template(), id, total,
                    result.cachedSteps(), result.millis());
            return result;
        } catch (IOException e) {
            throw TmountException.failed(e, "build of template %s failed", file.template());
        } finally {
            try {
                Folders.deleteTree(work);
            } catch (IOException e) {
                log.warn("cannot remove the build folder {}: {}", work, e.getMessage());
            }
        }
    }

    /**
     * The build an empty start begins from: an empty ext4 filesystem of the size, stored once per store and size (a
     * build cache entry of the template) and reused by every build from nothing of that size.
     */
    private BuildId emptyBase(TemplateFile.Empty empty, TemplateId template, BuildCache cache, BuildOptions options,
                              WriteFormat format, Path work, BuildLog out) throws IOException {
        StepKey key = StepKeys.emptyFilesystem(empty.size().bytes());
        // an empty filesystem of a size is as good as another, --no-cache or not: its builds key on one
        Optional<CacheEntry> cached = new CachedSteps(cache, null, template,
                new BuildOptions(null, false, options.cacheFrom(), false)).find(key);
        if (cached.isPresent()) {
            cache.used(cached.get());
            out.line("empty filesystem of " + empty.size() + ": cached, build " + cached.get().build());
            return cached.get().build();
        }
        BuildId build = BuildId.random();
        Path image = work.resolve("rootfs.ext4");
        Ext4Images.makeEmpty(empty.size().bytes(), image);
        new BuildWriter(manager.store(), work).writeBase(
                BuildMetadata.forNewBuild(build, template, null, Files.size(image), Instant.now()), image, format);
        Files.deleteIfExists(image);
        BuildId recorded = cache.record(template, key, build, null, "an empty " + empty.size() + " filesystem").build();
        if (!recorded.equals(build)) { // another build stored one first
            manager.store().deleteBuild(build);
            out.line("empty filesystem of " + empty.size() + ": cached meanwhile, build " + recorded);
            return recorded;
        }
        out.line("empty filesystem of " + empty.size() + ": stored as build " + build);
        return build;
    }

    /**
     * A folder of its own under the builds dir, marked with this manager's state dir: after a crash,
     * {@link BuildLeftovers} of the next start knows which folders (and loop mounts in them) were its own.
     */
    private Path newWorkFolder() {
        try {
            Files.createDirectories(buildsDir);
            Path work = Files.createTempDirectory(buildsDir, "build-");
            Files.writeString(work.resolve(BuildLeftovers.OWNER), manager.stateDir().toString());
            return work;
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot make a folder for the build under %s", buildsDir);
        }
    }

    /**
     * Removes what builds of an earlier run of this state dir left in the builds dir (see {@link BuildLeftovers}).
     * Call once at start, after opening the manager.
     */
    public void removeLeftovers() {
        new BuildLeftovers(buildsDir, manager.stateDir()).remove();
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
