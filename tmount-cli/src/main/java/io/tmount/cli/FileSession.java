package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.daemon.DaemonClient;
import io.tmount.host.TmountHost;
import io.tmount.mount.CommitResult;
import io.tmount.mount.FilesystemMode;
import io.tmount.mount.MountInfo;
import io.tmount.mount.MountOptions;
import io.tmount.os.Folders;
import io.tmount.progress.Progress;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Short-lived mounts for the file commands (ls, cat, cp, tar, run, diff, manifest): through the running daemon
 * (sharing its chunk cache and trust policy), or, without one, in this process with a private state dir (never the
 * daemon's: opening that would restore and then tear down the daemon's mounts). Everything lives under
 * {@code RUNTIME_DIR-files/PID-N/} and is taken apart on close, and on SIGINT or SIGTERM: the signal handler stops
 * the command's child process, asks the command to stop ({@link #checkCancelled}) and waits for it to clean up. It
 * never takes mounts apart itself, under work that may still use them: a command that does not stop in time is
 * left, like one a SIGKILL ended, to the next session, which finds it by the lock file it no longer holds.
 */
final class FileSession implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(FileSession.class);
    private static final long SIGNAL_WAIT_SECONDS = 60;

    /** Mounts, commits and unmounts, from the daemon or from an in-process host. */
    private interface Mounts extends AutoCloseable {
        MountInfo mount(TemplateId template, BuildId build, Path path, MountOptions options);

        CommitResult commit(Path path, BuildId build, Progress progress);

        void unmount(Path path);

        boolean viaDaemon();

        @Override
        void close();
    }

    static final String LOCK = "lock";

    private final Path work;
    private final java.nio.channels.FileChannel lock;
    private final Mounts mounts;
    private final List<Path> mounted = new ArrayList<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    private final Thread hook;
    private volatile boolean cancelled;
    private volatile Process child;
    private int next;

    private FileSession(Path work, java.nio.channels.FileChannel lock, Mounts mounts) {
        this.work = work;
        this.lock = lock;
        this.mounts = mounts;
        this.hook = new Thread(this::onSignal, "tmount-files-signal");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    static FileSession open(Settings settings) throws IOException {
        Path files = folder(settings);
        Files.createDirectories(files);
        Mounts mounts = daemon(settings);
        new StaleSessions(files, settings, mounts != null ? mounts::unmount : null).clean();
        Path work = Files.createTempDirectory(files, ProcessHandle.current().pid() + "-");
        java.nio.channels.FileChannel lock = null;
        try {
            // held while the session lives: the next session's cleaner takes only what nobody holds (a pid alone can
            // be another namespace's, or reused)
            lock = java.nio.channels.FileChannel.open(work.resolve(LOCK), java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.WRITE);
            lock.lock();
            return new FileSession(work, lock, mounts != null ? mounts : inProcess(settings, work));
        } catch (IOException | RuntimeException | Error e) {
            if (lock != null) {
                lock.close();
            }
            Folders.deleteTree(work);
            if (mounts != null) {
                mounts.close();
            }
            throw e;
        }
    }

    /**
     * Where sessions live: beside the runtime dir ({@code /run/tmount-files}), not in it, since the daemon refuses
     * mount paths inside its own folders.
     */
    static Path folder(Settings settings) {
        return settings.runtimeDir().resolveSibling(settings.runtimeDir().getFileName() + "-files");
    }

    /** Mounts a build read-only (or writable) at a fresh path of this session; returns the path. */
    Path mount(String template, String build, boolean writable, FilesystemMode fs) {
        checkCancelled();
        Path path = work.resolve("mnt-" + next++);
        mounts.mount(TemplateId.of(template), BuildId.of(build), path,
                MountOptions.defaults().withReadOnly(!writable).withFs(fs));
        mounted.add(path);
        return path;
    }

    CommitResult commit(Path path, String build, Progress progress) {
        checkCancelled();
        return mounts.commit(path, build == null ? null : BuildId.of(build), progress);
    }

    /** Whether the mounts come from the daemon (else this process serves them). */
    boolean viaDaemon() {
        return mounts.viaDaemon();
    }

    /** Runs a child process of the command; a signal stops it. */
    Process start(ProcessBuilder builder) throws IOException {
        checkCancelled();
        Process process = builder.start();
        child = process;
        if (cancelled) { // the signal came while it started
            process.descendants().forEach(ProcessHandle::destroy);
            process.destroy();
        }
        return process;
    }

    /** Throws once a signal asked the command to stop. */
    void checkCancelled() {
        if (cancelled) {
            throw new TmountException(TmountException.Kind.FAILED, "interrupted");
        }
    }

    private void onSignal() {
        cancelled = true;
        Process running = child;
        if (running != null) {
            running.descendants().forEach(ProcessHandle::destroy);
            running.destroy();
        }
        try {
            if (!closed.await(SIGNAL_WAIT_SECONDS, TimeUnit.SECONDS)) {
                System.err.println("tmount: the command did not stop within " + SIGNAL_WAIT_SECONDS + " s; its mounts in "
                        + work + " are left for the next file command to take apart");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        try {
            takeApart();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook itself is waiting for this close
            }
            closed.countDown();
        }
    }

    private synchronized void takeApart() {
        RuntimeException failure = null;
        for (int i = mounted.size() - 1; i >= 0; i--) {
            try {
                mounts.unmount(mounted.get(i));
                mounted.remove(i);
            } catch (RuntimeException e) {
                failure = failure == null ? e : failure;
                log.error("cannot unmount {}: {}", mounted.get(i), e.getMessage());
            }
        }
        try {
            mounts.close();
        } catch (RuntimeException e) {
            failure = failure == null ? e : failure;
        }
        if (failure != null) {
            throw failure;
        }
        try {
            lock.close();
            Folders.deleteTree(work);
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot remove %s", work);
        }
    }

    private static Mounts daemon(Settings settings) {
        if (!Files.exists(settings.socket())) {
            return null;
        }
        DaemonClient client;
        try {
            client = DaemonClient.connect(settings.socket());
            client.health();
        } catch (TmountException noDaemon) {
            return null; // a stale socket: serve the mounts here
        }
        return new Mounts() {
            public MountInfo mount(TemplateId template, BuildId build, Path path, MountOptions options) {
                return client.mount(template.value(), build.value(), path.toString(), options);
            }

            public CommitResult commit(Path path, BuildId build, Progress progress) {
                return client.commit(new io.tmount.daemon.CommitRequest(path.toString(),
                        build == null ? null : build.value()), progress);
            }

            public void unmount(Path path) {
                client.unmount(path.toString());
            }

            public boolean viaDaemon() {
                return true;
            }

            public void close() {
                client.close();
            }
        };
    }

    private static Mounts inProcess(Settings settings, Path work) throws IOException {
        TemplateStore store = settings.openStore();
        TmountHost host;
        try {
            host = TmountHost.open(settings.mountManagerConfig(store, settings.nbdPoolSize())
                    .withDirs(work.resolve("state"), work.resolve("run")), work.resolve("builds"));
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        return new Mounts() {
            public MountInfo mount(TemplateId template, BuildId build, Path path, MountOptions options) {
                return host.mounts().mountTemplate(template, build, path, options);
            }

            public CommitResult commit(Path path, BuildId build, Progress progress) {
                return host.mounts().commit(path, build, null, false, null, progress);
            }

            public void unmount(Path path) {
                host.mounts().unmountTemplate(path);
            }

            public boolean viaDaemon() {
                return false;
            }

            public void close() {
                try {
                    host.close();
                } finally {
                    try {
                        store.close();
                    } catch (IOException e) {
                        log.warn("closing the store: {}", e.getMessage());
                    }
                }
            }
        };
    }
}
