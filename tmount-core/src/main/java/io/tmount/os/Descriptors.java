package io.tmount.os;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's file descriptors against its limit, so work that needs several of them (a mount: its NBD server,
 * overlay files, nbdfuse, loop and mount processes) is refused up front with a clear error, instead of failing half
 * way with "Too many open files" where even its clean-up cannot start the processes it needs.
 */
public final class Descriptors {

    /** Left free for what must keep working: unmounts, commits of existing mounts, API connections, logging. */
    static final int RESERVE = 48;

    private final Path proc;

    Descriptors(Path proc) {
        this.proc = proc;
    }

    public static Descriptors ofThisProcess() {
        return new Descriptors(Path.of("/proc/self"));
    }

    /** Descriptors open now. */
    public int open() throws IOException {
        int count = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
            for (Path ignored : fds) {
                count++;
            }
        }
        return count;
    }

    /** The soft limit on open descriptors (RLIMIT_NOFILE), or -1 when there is none. */
    public long limit() throws IOException {
        for (String line : Files.readAllLines(proc.resolve("limits"))) {
            if (line.startsWith("Max open files")) {
                String soft = line.substring("Max open files".length()).strip().split("\\s+")[0];
                return soft.equals("unlimited") ? -1 : Long.parseLong(soft);
            }
        }
        return -1;
    }

    /** Refuses {@code work}, which takes about {@code needed} descriptors, when fewer than that plus the reserve are free. */
    public void require(int needed, String work) {
        long limit;
        int open;
        try {
            limit = limit();
            open = open();
        } catch (IOException | RuntimeException e) {
            return; // no /proc to tell: let the work find out itself
        }
        if (limit >= 0 && limit - open < needed + RESERVE) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE, String.format("cannot %s: this process has %d "
                    + "of its %d file descriptors open, that takes about %d more and %d are kept free for unmounts "
                    + "and the API; raise its limit (systemd LimitNOFILE=, ulimit -n) or unmount something", work, open,
                    limit, needed, RESERVE));
        }
    }
}
