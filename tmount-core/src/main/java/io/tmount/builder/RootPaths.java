package io.tmount.builder;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Resolves paths as a process chrooted into the build root would see them, on the host: symlinks are followed
 * inside the root (an absolute target starts at the root) and ".." never climbs above it. A path that would leave
 * the root anyway is refused. What does not exist yet resolves lexically.
 */
final class RootPaths {

    private static final int MAX_LINKS = 40;

    private RootPaths() {
    }

    /** The host path of {@code path} inside {@code root}; relative paths start at {@code cwd} (inside the root). */
    static Path resolve(Path root, String cwd, String path) {
        if (path.indexOf('\0') >= 0) {
            throw TmountException.invalid("path '%s' contains NUL", path);
        }
        String full = path.startsWith("/") ? path : cwd + "/" + path;
        Deque<String> pending = new ArrayDeque<>();
        for (String part : full.split("/")) {
            pending.addLast(part);
        }
        Deque<String> resolved = new ArrayDeque<>();
        int links = 0;
        while (!pending.isEmpty()) {
            String part = pending.removeFirst();
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (resolved.isEmpty()) {
                    throw TmountException.invalid("path '%s' leaves the build root", path);
                }
                resolved.removeLast();
                continue;
            }
            resolved.addLast(part);
            Path host = hostPath(root, resolved);
            if (Files.isSymbolicLink(host)) {
                if (++links > MAX_LINKS) {
                    throw TmountException.invalid("path '%s' has too many levels of symbolic links", path);
                }
                String target;
                try {
                    target = Files.readSymbolicLink(host).toString();
                } catch (IOException e) {
                    throw TmountException.invalid("cannot read the symbolic link %s", host);
                }
                resolved.removeLast();
                if (target.startsWith("/")) {
                    resolved.clear();
                }
                String[] parts = target.split("/");
                for (int i = parts.length - 1; i >= 0; i--) {
                    pending.addFirst(parts[i]);
                }
            } else if (!Files.exists(host, LinkOption.NOFOLLOW_LINKS)) {
                // the rest cannot be symlinks: resolve it by name
                while (!pending.isEmpty()) {
                    String next = pending.removeFirst();
                    if (next.equals("..")) {
                        if (resolved.isEmpty()) {
                            throw TmountException.invalid("path '%s' leaves the build root", path);
                        }
                        resolved.removeLast();
                    } else if (!next.isEmpty() && !next.equals(".")) {
                        resolved.addLast(next);
                    }
                }
            }
        }
        return hostPath(root, resolved);
    }

    /** The path as the build sees it ({@code /a/b}) of a host path inside the root. */
    static String inRoot(Path root, Path host) {
        return "/" + root.relativize(host).toString();
    }

    private static Path hostPath(Path root, Deque<String> parts) {
        Path host = root;
        for (String part : parts) {
            host = host.resolve(part);
        }
        return host;
    }
}
