package io.tmount.host;

import io.tmount.builder.BuildLeftovers;
import io.tmount.builder.BuildRunner;
import io.tmount.export.Exports;
import io.tmount.image.BuildImages;
import io.tmount.metrics.Metrics;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountManagerConfig;
import io.tmount.nbd.PayloadMemory;
import io.tmount.prefetch.Traces;
import io.tmount.prefetch.Warmer;
import io.tmount.serve.ServedImages;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Everything one process serves from one state dir, built in one place and closed in reverse: the build images
 * (chunk caches and their budget, shared), the mount manager, the exports beside it, and the build runner. The store
 * is the caller's: it opened it and closes it after this.
 */
public final class TmountHost implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TmountHost.class);

    /** How long closing waits for builds whose steps it ended to take down their roots. */
    private static final Duration BUILD_STOP_WAIT = Duration.ofSeconds(30);

    private final MountManager mounts;
    private final Exports exports;
    private final BuildRunner builds;
    private final Metrics metrics;
    private final Warmer warmer;
    private Thread warming; // guarded by this
    private boolean closed;

    private TmountHost(MountManager mounts, Exports exports, BuildRunner builds, Metrics metrics, Warmer warmer) {
        this.mounts = mounts;
        this.exports = exports;
        this.builds = builds;
        this.metrics = metrics;
        this.warmer = warmer;
    }

    /** Opens the state dir (restoring the mounts of an earlier run), with template builds' roots in {@code buildsDir}. */
    public static TmountHost open(MountManagerConfig config, Path buildsDir) {
        return open(config, buildsDir, Metrics.unregistered());
    }

    /** The same, counting into {@code metrics} and showing there what the mounts, exports and caches hold. */
    public static TmountHost open(MountManagerConfig config, Path buildsDir, Metrics metrics) {
        BuildImages images = MountManager.imagesFor(config);
        // one budget for request payloads of every server here, split so export clients cannot starve mounts
        PayloadMemory payloads = PayloadMemory.ofThisJvm();
        // a RUN step that outlived the last process holds its build root busy: stopped before recovery unmounts it
        Traces traces = MountManager.tracesFor(config);
        MountManager mounts = MountManager.open(config, new ServedImages(images, payloads.mounts(), metrics, "mount",
                traces), new BuildLeftovers(buildsDir, config.stateDir())::stopSteps);
        try {
            Exports exports = new Exports(new ServedImages(images, payloads.exports(), metrics, "export", traces),
                    config.stateDir().resolve("exports"));
            exports.removeLeftovers();
            BuildRunner builds = new BuildRunner(mounts, buildsDir, config.checkpoints(), metrics);
            builds.removeLeftovers();
            HostMetrics.register(metrics, mounts, exports, config.attachers());
            return new TmountHost(mounts, exports, builds, metrics, new Warmer(images, traces));
        } catch (RuntimeException e) {
            mounts.close();
            throw e;
        }
    }

    public MountManager mounts() {
        return mounts;
    }

    public Metrics metrics() {
        return metrics;
    }

    public Exports exports() {
        return exports;
    }

    public BuildRunner builds() {
        return builds;
    }

    /** Warms the shared caches for a build ahead of use (its read trace, everything with {@code all}). */
    public Warmer warmer() {
        return warmer;
    }

    /** Warms {@code builds} in the background (trace first, then everything, at most {@code bytesPerSecond}). */
    public synchronized void warmInBackground(java.util.List<io.tmount.store.BuildId> builds, long bytesPerSecond) {
        if (!closed && !builds.isEmpty()) {
            warming = warmer.warmInBackground(builds, bytesPerSecond);
        }
    }

    public TemplateStore store() {
        return mounts.store();
    }

    /**
     * Ends running builds (their steps first), stops the exports, then unmounts everything and closes the shared
     * chunk caches with the mount manager.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (warming != null) {
            warming.interrupt();
            try {
                warming.join(Duration.ofSeconds(10)); // its fetches end with the caches, which close below
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            if (!builds.stop(BUILD_STOP_WAIT)) {
                log.warn("builds did not end within {} s; unmounting under them", BUILD_STOP_WAIT.toSeconds());
            }
        } finally {
            try {
                exports.close();
            } finally {
                mounts.close();
            }
        }
    }
}
