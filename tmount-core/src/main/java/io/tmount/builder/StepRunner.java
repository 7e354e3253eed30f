package io.tmount.builder;

import io.tmount.TmountException;
import io.tmount.buildcache.BuildCache;
import io.tmount.buildcache.CacheEntry;
import io.tmount.buildcache.StepKey;
import io.tmount.image.WriteFormat;
import io.tmount.metrics.Metrics;
import io.tmount.mount.Checkpoints;
import io.tmount.mount.CommitResult;
import io.tmount.mount.MountManager;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.StepBuild;
import io.tmount.store.TemplateId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The part of a build that runs steps: from where the cache left off, on a root mounted copy-on-write from the build
 * so far, each step that changed the root committed as a layer of its own and recorded in the cache. Another builder
 * may be running the same steps at the same moment: a step it has finished already is taken from the cache instead
 * of run, and when both finished one, the first entry stays and this build continues from that entry's build (its
 * root mounted again from it; its own layer deleted), so both go on sharing entries. Neither happens while a template
 * is mounted writable inside the root (its writes are not in any build), nor with --no-cache: such a build keeps to
 * its own chain, and keys its later steps on the entry's build (the same steps, run again), so the cache learns them.
 */
final class StepRunner {

    private static final Logger log = LoggerFactory.getLogger(StepRunner.class);

    /** What a build run shares with its steps. */
    record Services(MountManager manager, BuildCache cache, StepKeys keys, CachedSteps lookup, BuildOptions options,
                    WriteFormat format, Checkpoints checkpoints, Metrics metrics, RunningSteps running,
                    TemplateId baseTemplate) {
    }

    private final Services services;
    private final TemplateFile file;
    private final Path rootPath;
    private final BuildLog out;
    private final List<StepBuild> done;
    private final StepMounts mounts;
    private BuildContext state;
    private BuildId build; // what the root is mounted from, with what the steps changed since in its overlay
    private BuildId keyParent; // the build the next step's key starts from: the cache's view of the same content
    private BuildRoot root;
    private boolean cacheable = true; // false once a step's changes could not be stored as a layer of its own
    private BuildId endedAs; // the build the new one goes over, once the steps are done

    StepRunner(Services services, TemplateFile file, Path rootPath, List<StepBuild> done, BuildLog out) {
        this.services = services;
        this.file = file;
        this.rootPath = rootPath;
        this.done = done;
        this.out = out;
        this.mounts = new StepMounts(services.manager(), rootPath);
    }

    /**
     * Runs the steps from {@code resume} and returns the last build. On failure takes down the root and every mount
     * of the steps; the layers already stored stay, in the cache, for the next attempt to start from.
     */
    BuildId run(CachedSteps.Resume resume) throws IOException {
        state = resume.state();
        build = resume.build();
        keyParent = build;
        int total = file.steps().size();
        try {
            mountRoot();
            state.resolveUser(rootPath);
            for (Step step : file.steps().subList(resume.index(), total)) {
                long stepStart = System.nanoTime();
                StepKey key = CachedSteps.makesLayer(step) ? CachedSteps.key(services.keys(), keyParent, step, state)
                        : null;
                Optional<CacheEntry> finished = key != null && sharing() ? services.lookup().find(key) : Optional.empty();
                if (finished.isPresent()) { // another builder got here first
                    services.cache().used(finished.get());
                    switchTo(finished.get().build());
                    if (step instanceof Step.Mount mount) { // a writable MOUNT: its template, mounted afresh
                        mounts.mount(mount.template(), mount.build(),
                                RootPaths.resolve(rootPath, state.workdir(), mount.path()), mount.writable());
                    }
                    CachedSteps.apply(step, state);
                    state.stepDone(key.hash());
                    done.add(new StepBuild(step.number(), step.describe(), build, true));
                    out.line("step " + step.number() + "/" + total + " " + step.describe() + ": cached, build " + build);
                    continue;
                }
                out.line("step " + step.number() + "/" + total + " " + step.describe());
                try {
                    execute(step);
                    services.checkpoints().reached(Checkpoints.buildStep(step.type()));
                } catch (IOException | RuntimeException e) {
                    TmountException.Kind kind = e instanceof TmountException te ? te.kind() : TmountException.Kind.FAILED;
                    throw new TmountException(kind, "step " + step.number() + " (" + step.describe() + "): "
                            + e.getMessage(), e);
                }
                BuildId stepBuild = null;
                if (key != null) {
                    // a COPY source edited while it was copied: what was copied is not what the key says
                    boolean keyHolds = !(step instanceof Step.Copy)
                            || CachedSteps.key(services.keys(), keyParent, step, state).equals(key);
                    if (!keyHolds) {
                        out.line("step " + step.number() + "/" + total + ": its source changed while it was copied, "
                                + "so it is not cached");
                    }
                    stepBuild = layer(step, key, keyHolds);
                }
                state.stepDone(key != null ? key.hash() : StepKeys.quote(step.describe()));
                done.add(new StepBuild(step.number(), step.describe(), stepBuild, false));
                services.metrics().step(step.type(), System.nanoTime() - stepStart);
                out.line("step " + step.number() + "/" + total + " done in " + millisSince(stepStart) + " ms");
            }
            StepKey end = services.keys().end(keyParent, state);
            mounts.unmountLeft(out);
            // what unmounting left (the folders MOUNT made) is the last layer, cached as the end of the steps
            CommitResult last = commit();
            endedAs = recordEnd(end, last);
        } catch (IOException | RuntimeException e) {
            mounts.unmountAll(e);
            if (root != null) {
                try {
                    root.close();
                } catch (IOException | RuntimeException closing) {
                    e.addSuppressed(closing);
                }
            }
            throw e;
        }
        try {
            root.close();
        } catch (IOException | RuntimeException e) {
            // the layers are stored: say so, and leave the root for the operator (or the next start) to remove
            out.line("warning: the build root at " + root.path() + " could not be taken down: " + e.getMessage());
            log.warn("the build root at {} could not be taken down: {}", root.path(), e.getMessage());
            return build;
        }
        if (!endedAs.equals(build)) { // another build stored the same end first: the same content, under its id
            services.manager().store().deleteBuild(build);
            build = endedAs;
        }
        return build;
    }

    /**
     * Records the end of the steps; returns the build the new one goes over: this one's, or the entry's where another
     * build recorded the same end first (then this one's last layer goes, once the root is down).
     */
    private BuildId recordEnd(StepKey end, CommitResult last) {
        BuildId result = last.changed() ? last.build() : keyParent;
        if (!cacheable) {
            return build;
        }
        CacheEntry entry = services.cache().record(file.template(), end, result, keyParent, "the end of the steps");
        return entry.build().equals(result) || !sharing() || !last.changed() ? build : entry.build();
    }

    /**
     * Commits what the step changed as a layer and records it under {@code key} (unless {@code recordable} is false);
     * returns the build after the step, or null when its changes had to wait for a later layer.
     */
    private BuildId layer(Step step, StepKey key, boolean recordable) throws IOException {
        int total = file.steps().size();
        if (!mounts.isEmpty() && !services.manager().commitsInPlace(rootPath)) {
            // fuse2fs is taken off the root for a commit, which the templates mounted inside keep busy
            if (cacheable) {
                out.line("step " + step.number() + "/" + total + ": the root is a userspace-mode mount with templates "
                        + "mounted inside, so its changes go into a later layer, and the steps from here on are not "
                        + "cached");
            }
            cacheable = false;
            return null;
        }
        CommitResult layer = commit();
        out.line("step " + step.number() + "/" + total + (layer.changed()
                ? " stored as build " + build + " (" + layer.ownBytes() + " bytes of its own)" : " changed nothing"));
        record(key, layer, recordable, step.describe());
        return build;
    }

    /** Commits the root as a layer over {@code build}; a commit that left the root unusable fails the build. */
    private CommitResult commit() {
        CommitResult layer = services.manager().commitAndAdvance(rootPath, BuildId.random(), file.template(),
                services.format());
        if (layer.warning() != null) {
            throw TmountException.failed(null, "%s", layer.warning());
        }
        build = layer.changed() ? layer.build() : build;
        return layer;
    }

    /**
     * Records the result of a committed step in the cache; when another builder recorded the key first, goes on from
     * its entry: by mounting its build (sharing) or by keying the next steps on it.
     */
    private void record(StepKey key, CommitResult layer, boolean recordable, String what) throws IOException {
        BuildId result = layer.changed() ? layer.build() : keyParent; // a step that changed nothing leaves its parent
        if (!cacheable || !recordable) {
            keyParent = result;
            return;
        }
        CacheEntry entry = services.cache().record(file.template(), key, result, keyParent, what);
        keyParent = entry.build();
        if (entry.build().equals(result)) {
            return;
        }
        if (sharing()) {
            out.line("another build stored this step first, as build " + entry.build() + "; going on from that one");
            switchTo(entry.build());
            if (layer.changed()) {
                services.manager().store().deleteBuild(layer.build()); // nothing reads from it: the root moved on
            }
        }
    }

    /**
     * Whether this build may take another builder's results: not with --no-cache, nor with a writable mount's unkept
     * writes about.
     */
    private boolean sharing() {
        return cacheable && !services.options().noCache()
                && state.mounts().stream().noneMatch(BuildContext.Mounted::writable);
    }

    private void mountRoot() {
        // a build without a template id is an e2b base: mounted as the template the file names it by
        TemplateId template = services.manager().store().metadata(build).map(BuildMetadata::templateId)
                .orElse(services.baseTemplate());
        root = MountedRoot.mount(services.manager(), template, build, rootPath, services.baseTemplate());
        for (BuildContext.Mounted m : state.mounts()) { // what the cached steps left mounted
            mounts.mount(m.template(), m.build(), RootPaths.resolve(rootPath, m.workdir(), m.path()), m.writable());
        }
    }

    /** Mounts the root from {@code other} instead, the templates mounted inside it again; keys go on from it. */
    private void switchTo(BuildId other) throws IOException {
        if (other.equals(build)) {
            keyParent = other;
            return;
        }
        mounts.unmountLeft(BuildLog.NONE);
        root.close(); // on failure the root stays this build's, for the failure path to take down
        root = null;
        build = other;
        keyParent = other;
        mountRoot();
    }

    private void execute(Step step) throws IOException {
        switch (step) {
            case Step.Run run -> RunStep.run(rootPath, state, run.command(), run.network(), out, services.running());
            case Step.Copy copy ->
                    CopyStep.copy(file.context(), rootPath, state.workdir(), copy.source(), copy.destination());
            case Step.Env env -> state.env(env.key(), env.value());
            case Step.Workdir workdir -> {
                Files.createDirectories(RootPaths.resolve(rootPath, state.workdir(), workdir.path()));
                state.changeWorkdir(workdir.path());
            }
            case Step.User user -> state.user(rootPath, user.name());
            case Step.Mount mount -> {
                mounts.mount(mount.template(), mount.build(),
                        RootPaths.resolve(rootPath, state.workdir(), mount.path()), mount.writable());
                CachedSteps.apply(mount, state);
            }
            case Step.Unmount unmount -> {
                mounts.unmount(RootPaths.resolve(rootPath, state.workdir(), unmount.path()));
                state.unmounted(unmount.path());
            }
        }
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
