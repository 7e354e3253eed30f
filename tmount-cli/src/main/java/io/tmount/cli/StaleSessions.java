package io.tmount.cli;

import io.tmount.host.TmountHost;
import io.tmount.os.Folders;
import io.tmount.os.MountTable;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Cleans up after file commands a SIGKILL ended: a folder {@code PID-N} under {@code RUNTIME_DIR-files} whose lock
 * file nobody holds (its session holds it while it lives; a folder without one is judged by its pid). Its in-process state dir is opened (crash recovery restores its mounts) and closed (which takes
 * them apart); mounts the daemon held for it are unmounted through the daemon; then the folder goes, unless
 * something is still mounted in it.
 */
final class StaleSessions {

    private static final Logger log = LoggerFactory.getLogger(StaleSessions.class);

    private final Path files;
    private final Settings settings;
    private final Consumer<Path> daemonUnmount;

    /** {@code daemonUnmount}: how to unmount a path through the running daemon, or null without one. */
    StaleSessions(Path files, Settings settings, Consumer<Path> daemonUnmount) {
        this.files = files;
        this.settings = settings;
        this.daemonUnmount = daemonUnmount;
    }

    void clean() throws IOException {
        List<Path> sessions;
        try (Stream<Path> entries = Files.list(files)) {
            sessions = entries.toList();
        }
        for (Path session : sessions) {
            Path lockFile = session.resolve(FileSession.LOCK);
            if (!Files.exists(lockFile)) {
                if (ownerGone(session)) { // made before its lock, or by an older tmount
                    clean(session);
                }
                continue;
            }
            try (java.nio.channels.FileChannel lock = java.nio.channels.FileChannel.open(lockFile,
                    java.nio.file.StandardOpenOption.WRITE)) {
                if (lock.tryLock() != null) { // nobody holds it: its session is over
                    clean(session);
                }
            } catch (java.nio.channels.OverlappingFileLockException | IOException inUse) {
                // this process's own, or gone meanwhile
            }
        }
    }

    private void clean(Path session) {
        try {
            cleanOne(session);
        } catch (RuntimeException | IOException e) {
            log.warn("cannot clean up {} (left by an ended file command): {}", session, e.getMessage());
        }
    }

    private void cleanOne(Path session) throws IOException {
        Path state = session.resolve("state");
        if (Files.isDirectory(state)) {
            try (TemplateStore store = settings.openStore()) {
                TmountHost.open(settings.mountManagerConfig(store, settings.nbdPoolSize())
                        .withDirs(state, session.resolve("run")), session.resolve("builds")).close();
            }
        }
        MountTable table = MountTable.ofThisProcess();
        if (daemonUnmount != null) {
            for (MountTable.Entry entry : table.mountsUnder(session)) {
                try {
                    daemonUnmount.accept(entry.mountPoint());
                } catch (RuntimeException e) {
                    log.warn("cannot unmount {}: {}", entry.mountPoint(), e.getMessage());
                }
            }
        }
        if (!MountTable.ofThisProcess().mountsUnder(session).isEmpty()) {
            log.warn("{} still has mounts in it; left in place", session);
            return;
        }
        Folders.deleteTree(session);
        log.info("removed {}, left by an ended file command", session);
    }

    private static boolean ownerGone(Path session) {
        String name = session.getFileName().toString();
        int dash = name.indexOf('-');
        if (dash <= 0) {
            return false;
        }
        try {
            long pid = Long.parseLong(name.substring(0, dash));
            return ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
