package io.tmount.builder;

import io.tmount.TmountException;
import io.tmount.image.WriteFormat;
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
        return run(file, newBuild, null, out);
    }

    /** The same, writing the new build with {@code format} (null: the mount manager's configured format). */
    public BuildResult run(TemplateFile file, BuildId newBuild, WriteFormat format, BuildLog out) {
        descriptors.require(BUILD_DESCRIPTORS, "start a build of template " + file.template());
        running.buildStarted();
        boolean ok = false;
        try {
            BuildResult result = build(file, newBuild, format, out);
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

    private BuildResult build(TemplateFile file, BuildId newBuild, WriteFormat format, BuildLog out) {
        WriteFormat writeFormat = format == null ? manager.writeFormat() : format;
        long start = System.nanoTime();
        TemplateStore store = manager.store();
        BuildId id = newBuild == null ? BuildId.random() : newBuild;
        if (store.exists(id)) {
            throw TmountException.conflict("build '%s' already exists in template store %s", id, store.url());
        }
        if (file.from() instanceof TemplateFile.FromBuild base) {
            store.resolve(base.template(), base.build());
        }
        Path work = newWorkFolder();
        Path rootPath = work.resolve("root");
        int total = file.steps().size();
        out.line("building template " + file.template() + " as build " + id + " from " + file.from()
                + " (" + total + " step" + (total == 1 ? "" : "s") + ")");
        try {
            BuildRoot root = switch (file.from()) {
                case TemplateFile.Empty empty ->
                        EmptyRoot.create(store, file.template(), empty.size().bytes(), work.resolve("rootfs.ext4"), rootPath);
                case TemplateFile.FromBuild base ->
                        MountedRoot.mount(manager, base.template(), base.build(), rootPath, file.template());
            };
            runSteps(file, id, root, writeFormat, out);
            try {
                root.close();
            } catch (IOException | RuntimeException e) {
                // the build is stored: say so, and leave the root for the operator (or the next start) to remove
                out.line("warning: build " + id + " is stored, but its build root at " + root.path()
                        + " could not be taken down: " + e.getMessage());
                log.warn("build {} is stored, but its root at {} could not be taken down: {}", id, root.path(),
                        e.getMessage());
            }
        } catch (IOException e) {
            throw TmountException.failed(e, "build of template %s failed", file.template());
        } finally {
            try {
                Folders.deleteTree(work);
            } catch (IOException e) {
                log.warn("cannot remove the build folder {}: {}", work, e.getMessage());
            }
        }
        BuildResult result = new BuildResult(id, file.template(),
                file.from() instanceof TemplateFile.FromBuild base ? base.build() : null, total, millisSince(start));
        out.line("built template " + file.template() + " build " + id + " in " + result.millis() + " ms");
        log.info("built template {} build {} ({} steps) in {} ms", file.template(), id, total, result.millis());
        return result;
    }

    /** Runs the steps and commits the root; on failure takes down the root and every mount of the steps. */
    private void runSteps(TemplateFile file, BuildId id, BuildRoot root, WriteFormat format, BuildLog out)
            throws IOException {
        StepMounts mounts = new StepMounts(manager, root.path());
        int total = file.steps().size();
        try {
            BuildContext context = new BuildContext();
            for (Step step : file.steps()) {
                long stepStart = System.nanoTime();
                out.line("step " + step.number() + "/" + total + " " + step.describe());
                try {
                    execute(step, file, root.path(), context, mounts, out);
                    checkpoints.reached(Checkpoints.buildStep(step.type()));
                } catch (IOException | RuntimeException e) {
                    TmountException.Kind kind = e instanceof TmountException te ? te.kind() : TmountException.Kind.FAILED;
                    throw new TmountException(kind, "step " + step.number() + " (" + step.describe() + "): "
                            + e.getMessage(), e);
                }
                metrics.step(step.type(), System.nanoTime() - stepStart);
                out.line("step " + step.number() + "/" + total + " done in " + millisSince(stepStart) + " ms");
            }
            mounts.unmountLeft(out);
            out.line("committing the build root as build " + id);
            root.commit(id, format);
        } catch (IOException | RuntimeException e) {
            mounts.unmountAll(e);
            try {
                root.close();
            } catch (IOException | RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
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

    private void execute(Step step, TemplateFile file, Path root, BuildContext context, StepMounts mounts,
                         BuildLog out) throws IOException {
        switch (step) {
            case Step.Run run -> RunStep.run(root, context, run.command(), run.network(), out, running);
            case Step.Copy copy -> CopyStep.copy(file.context(), root, context.workdir(), copy.source(), copy.destination());
            case Step.Env env -> context.env(env.key(), env.value());
            case Step.Workdir workdir -> {
                Path host = RootPaths.resolve(root, context.workdir(), workdir.path());
                Files.createDirectories(host);
                context.workdir(RootPaths.inRoot(root, host));
            }
            case Step.User user -> context.user(root, user.name());
            case Step.Mount mount -> mounts.mount(mount.template(), mount.build(),
                    RootPaths.resolve(root, context.workdir(), mount.path()), mount.writable());
            case Step.Unmount unmount -> mounts.unmount(RootPaths.resolve(root, context.workdir(), unmount.path()));
        }
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
