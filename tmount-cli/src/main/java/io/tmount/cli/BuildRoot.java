package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.files.Fs;
import io.tmount.files.Names;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A build's root as one of a file session's mounts, open as a directory descriptor, and paths inside it resolved as
 * if it were {@code /} (a link to {@code /etc} or to {@code ../../..} stays inside the build).
 */
final class BuildRoot implements AutoCloseable {

    /** A path's parent directory (open) and last name; an empty name means the path names the directory itself. */
    record Located(int parentFd, byte[] name, String shown) implements AutoCloseable {
        /** The path for a child process: through this process's descriptor, so no name is ever re-encoded. */
        String procPath() {
            String parent = "/proc/" + ProcessHandle.current().pid() + "/fd/" + parentFd;
            return name.length == 0 ? parent + "/." : parent + "/" + new String(name, StandardCharsets.UTF_8);
        }

        @Override
        public void close() {
            Fs.close(parentFd);
        }
    }

    private final Path path;
    private final int fd;

    private BuildRoot(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    static BuildRoot mount(FileSession session, String template, String build, boolean writable, FileOptions options)
            throws IOException {
        Path path = session.mount(template, build, writable, options.mode());
        return new BuildRoot(path, Fs.openDirectory(path));
    }

    Path path() {
        return path;
    }

    int fd() {
        return fd;
    }

    /** Opens {@code path} inside the build, following links (inside the build). */
    int open(String path, int flags) throws IOException {
        try {
            return Fs.openInRoot(fd, Names.argument(path), flags);
        } catch (Fs.FsException e) {
            throw TmountException.notFound("%s in the build: %s", path, e.getMessage().replaceFirst("^.*: ", ""));
        }
    }

    /**
     * Opens the parent of {@code path} and keeps its last name unresolved, as cp -P and tar take a link: as the
     * link. {@code /}, and paths ending in {@code .} or {@code ..}, name a directory itself.
     */
    Located locate(String path) throws IOException {
        String trimmed = path.replaceAll("/+$", "");
        int slash = trimmed.lastIndexOf('/');
        String last = trimmed.substring(slash + 1);
        if (trimmed.isEmpty() || last.equals(".") || last.equals("..")) {
            return new Located(open(path.isEmpty() ? "/" : path, Fs.O_PATH | Fs.O_DIRECTORY), new byte[0], path);
        }
        String parent = slash <= 0 ? "/" : trimmed.substring(0, slash);
        int parentFd = open(parent, Fs.O_PATH | Fs.O_DIRECTORY);
        byte[] name = Names.argument(last);
        try {
            Fs.stat(parentFd, name);
        } catch (Fs.FsException e) {
            Fs.close(parentFd);
            throw TmountException.notFound("%s in the build: %s", path, e.getMessage().replaceFirst("^.*: ", ""));
        }
        return new Located(parentFd, Arrays.copyOf(name, name.length), path);
    }

    @Override
    public void close() {
        Fs.close(fd);
    }
}
