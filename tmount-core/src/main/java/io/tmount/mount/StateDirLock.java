package io.tmount.mount;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One process owns a state dir (and a runtime dir) at a time: recovery at start-up tears down what the journal lists,
 * which would break another live process's mounts. The lock is an fcntl lock, released by the kernel if the process
 * dies. Locking a dir also closes it to other users (0700): it holds overlays (every write to a mount, whatever the
 * file modes inside the image say), the chunk cache of every build, and sockets.
 */
final class StateDirLock implements AutoCloseable {

    private final FileChannel channel;
    private final FileLock lock;

    private StateDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static StateDirLock acquire(Path stateDir) throws IOException {
        return acquire(stateDir, "state dir");
    }

    /** Locks {@code dir} (a state or runtime dir: {@code what} names it in the error). */
    static StateDirLock acquire(Path dir, String what) throws IOException {
        Path stateDir = dir;
        Files.createDirectories(stateDir);
        Files.setPosixFilePermissions(stateDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        Path file = stateDir.resolve("tmount.lock");
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException sameProcess) {
            lock = null; // another manager of this very process holds it
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            channel.close();
            throw TmountException.conflict("%s %s is in use by another tmount process (a running daemon?); "
                    + "use that daemon, stop it, or choose another --%s", what, stateDir, what.replace(' ', '-'));
        }
        return new StateDirLock(channel, lock);
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
