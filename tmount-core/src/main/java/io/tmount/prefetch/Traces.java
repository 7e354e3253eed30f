package io.tmount.prefetch;

import io.tmount.image.LayeredImage;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The read traces of builds, one file per build in a folder of the state dir: what the build's mounts read in their
 * first {@code window}, merged over its mounts (a chunk once, in the order first seen, at most {@link #MAX_CHUNKS}).
 * A mount replays its build's trace, or else its nearest ancestor's (a build layered on it starts as its parent did),
 * in the background behind its readers, and records its own.
 */
public final class Traces {

    public static final Duration DEFAULT_WINDOW = Duration.ofSeconds(60);
    /** 64 GiB of 4 MiB chunks: a bound on a trace's file, and on what one replay queues. */
    public static final int MAX_CHUNKS = 16384;
    private static final int MAX_ANCESTORS = 32;
    private static final String SUFFIX = ".trace";

    private static final Logger log = LoggerFactory.getLogger(Traces.class);

    private final Path dir;
    private final Duration window;
    private final int unit;

    /** Traces in {@code dir}, recording {@code window} after each mount, in device chunks of {@code unit} bytes. */
    public Traces(Path dir, Duration window, int unit) {
        this.dir = dir;
        this.window = window;
        this.unit = unit;
    }

    public Path file(BuildId build) {
        return dir.resolve(build.value() + SUFFIX);
    }

    /** The build's own trace; empty when it has none, or a damaged one (said in the log: it only costs a prefetch). */
    public Optional<Trace> read(BuildId build) {
        Path file = file(build);
        try {
            return Optional.of(Trace.parse(Files.readString(file)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            log.warn("ignoring the damaged read trace {}: {}", file, e.getMessage());
            return Optional.empty();
        }
    }

    /** The trace of {@code build}, else of its nearest ancestor that has one (by the parents its metadata names). */
    public Optional<Found> find(BuildId build, TemplateStore store) {
        Set<BuildId> seen = new HashSet<>();
        BuildId at = build;
        for (int depth = 0; at != null && depth <= MAX_ANCESTORS && seen.add(at); depth++) {
            Optional<Trace> trace = read(at);
            if (trace.isPresent()) {
                return Optional.of(new Found(at, trace.get()));
            }
            try {
                at = store.metadata(at).map(BuildMetadata::parentBuildId).orElse(null);
            } catch (RuntimeException e) {
                return Optional.empty(); // a store that cannot say: no trace, the mount goes on
            }
        }
        return Optional.empty();
    }

    /** A trace, and the build it was recorded for (the mounted one, or an ancestor). */
    public record Found(BuildId recordedFor, Trace trace) {
    }

    /** Adds {@code trace}'s chunks to the build's trace (written whole, then renamed over it). */
    public synchronized void merge(BuildId build, Trace trace) throws IOException {
        if (trace.size() == 0) {
            return;
        }
        Trace merged = read(build).map(old -> old.merge(trace, MAX_CHUNKS)).orElse(trace); // recorders bound theirs
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, build.value(), ".tmp");
        try {
            Files.writeString(temp, merged.format());
            Files.move(temp, file(build), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /**
     * For a new mount of {@code build} served by {@code image}: replays the build's (or its nearest ancestor's) trace
     * in the background, and records what the mount reads in its first window. Closing it (the mount going away)
     * saves the recording if the window has not already. Never fails the mount: a trace is only a hint.
     */
    public AutoCloseable follow(BuildId build, TemplateStore store, LayeredImage image) {
        try {
            find(build, store).ifPresent(found -> replay(build, found, image));
        } catch (RuntimeException e) {
            log.warn("cannot replay the read trace of build {}: {}", build, e.toString());
        }
        if (window.isZero()) {
            return () -> { };
        }
        TraceRecorder recorder = new TraceRecorder(unit, System.nanoTime() + window.toNanos(), MAX_CHUNKS);
        image.observe(recorder);
        Recording recording = new Recording(build, recorder, image);
        recording.timer = Thread.ofVirtual().name("trace-" + build.value()).start(recording::saveAfterWindow);
        return recording;
    }

    private void replay(BuildId build, Found found, LayeredImage image) {
        Trace trace = found.trace();
        long start = System.nanoTime();
        CompletableFuture<Void> done = Prefetcher.replay(image, trace);
        log.info("prefetching {} chunks of the read trace of build {}{} in the background", trace.size(),
                found.recordedFor(), found.recordedFor().equals(build) ? "" : " (for its child " + build + ")");
        done.whenComplete((ok, failure) -> {
            long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
            if (failure == null) {
                log.info("prefetched the read trace of build {} for {} in {} ms", found.recordedFor(), build, ms);
            } else {
                log.info("prefetching the read trace of build {} for {} ended after {} ms with a failed fetch: {}",
                        found.recordedFor(), build, ms, failure.getMessage());
            }
        });
    }

    /** One mount's recording: saved once, at the end of its window or when the mount goes, whichever is first. */
    private final class Recording implements AutoCloseable {

        private final BuildId build;
        private final TraceRecorder recorder;
        private final LayeredImage image;
        private boolean saved; // guarded by this
        private volatile Thread timer;

        Recording(BuildId build, TraceRecorder recorder, LayeredImage image) {
            this.build = build;
            this.recorder = recorder;
            this.image = image;
        }

        void saveAfterWindow() {
            try {
                Thread.sleep(window);
            } catch (InterruptedException e) {
                return;
            }
            save();
        }

        private void save() {
            synchronized (this) {
                if (saved) {
                    return;
                }
                saved = true;
            }
            image.observe(null);
            try {
                merge(build, recorder.trace());
            } catch (IOException e) {
                log.warn("cannot save the read trace of build {} ({}): {}", build, file(build), e.getMessage());
            }
        }

        @Override
        public void close() {
            save();
            Thread waiting = timer;
            if (waiting != null) {
                waiting.interrupt(); // it holds the image until its window ends otherwise
            }
        }
    }
}
