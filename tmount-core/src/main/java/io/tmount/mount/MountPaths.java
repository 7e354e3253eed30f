package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.os.MountTable;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Checks mount paths where they enter: absolute, normalized, not through a symlink, not a system folder, not
 * already a mount point. Creates missing folders and remembers which, so unmount removes only those.
 */
final class MountPaths {

    /** A folder with something in it would be hidden from every user by a mount over it, until the unmount. */
    static void refuseNonEmpty(Path path) throws java.io.IOException {
        if (!java.nio.file.Files.isDirectory(path)) {
            return;
        }
        try (var entries = java.nio.file.Files.list(path)) {
            long count = entries.limit(1000).count();
            if (count > 0) {
                throw TmountException.conflict("%s is not empty (%s%d entries): a mount over it would hide them from every "
                        + "user until it is unmounted; mount at an empty or new folder, or pass --allow-non-empty",
                        path, count == 1000 ? "at least " : "", count);
            }
        }
    }

    /** Folders that may hold mounts below them but must not be covered themselves. */
    private static final Set<Path> NOT_ITSELF = Set.of(Path.of("/"), Path.of("/home"), Path.of("/root"),
            Path.of("/var"), Path.of("/var/lib"), Path.of("/tmp"), Path.of("/mnt"), Path.of("/media"),
            Path.of("/srv"), Path.of("/opt"));

    /** System trees where nothing may be mounted, at or below. */
    private static final List<Path> SYSTEM_TREES = List.of(Path.of("/proc"), Path.of("/sys"), Path.of("/dev"),
            Path.of("/boot"), Path.of("/etc"), Path.of("/usr"), Path.of("/bin"), Path.of("/sbin"), Path.of("/lib"),
            Path.of("/lib32"), Path.of("/lib64"), Path.of("/libx32"), Path.of("/run"));

    private final List<Path> ownTrees;
    private final MountTable mountTable;

    MountPaths(List<Path> ownTrees, MountTable mountTable) {
        this.ownTrees = ownTrees.stream().map(p -> p.toAbsolutePath().normalize()).toList();
        this.mountTable = mountTable;
    }

    /** The validated, normalized path. */
    Path validate(String text) {
        if (text == null || text.isBlank()) {
            throw TmountException.invalid("mount path is missing");
        }
        if (text.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
            throw TmountException.invalid("mount path '%s' contains control characters", text.replaceAll("\\p{Cntrl}", "?"));
        }
        Path path = Path.of(text);
        if (!path.isAbsolute()) {
            throw TmountException.invalid("mount path '%s' must be absolute", text);
        }
        if (!path.normalize().equals(path)) {
            throw TmountException.invalid("mount path '%s' is not normalized (use %s)", text, path.normalize());
        }
        if (NOT_ITSELF.contains(path)) {
            throw TmountException.invalid("mount path '%s' is a system folder; mount below it instead (e.g. %s)",
                    path, path.resolve("template"));
        }
        for (Path tree : SYSTEM_TREES) {
            if (path.startsWith(tree)) {
                throw TmountException.invalid("mount path '%s' is inside the system folder %s", path, tree);
            }
        }
        for (Path tree : ownTrees) {
            if (path.startsWith(tree)) {
                throw TmountException.invalid("mount path '%s' is inside tmount's own folder %s", path, tree);
            }
            if (tree.startsWith(path)) {
                throw TmountException.invalid("mount path '%s' would hide tmount's own folder %s", path, tree);
            }
        }
        checkNoSymlinks(path);
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
            throw TmountException.invalid("mount path '%s' exists and is not a directory", path);
        }
        return path;
    }

    /** Refuses a path that already has something mounted on it. */
    void checkNotMounted(Path path) {
        mountTable.mountAt(path).ifPresent(entry -> {
            throw TmountException.conflict("something is already mounted at %s (%s from %s)",
                    path, entry.fsType(), entry.source());
        });
    }

    /** Every existing component must be a real folder: a symlink would put the mount somewhere else. */
    private static void checkNoSymlinks(Path path) {
        Path current = path.getRoot();
        for (Path name : path) {
            current = current.resolve(name);
            if (Files.isSymbolicLink(current)) {
                String target;
                try {
                    target = current.toRealPath().toString();
                } catch (IOException e) {
                    target = "a missing target";
                }
                throw TmountException.invalid("mount path '%s' goes through a symlink: %s points to %s",
                        path, current, target);
            }
            if (!Files.exists(current, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
        }
    }

    /**
     * Creates the missing folders of the path; returns those this call created, outermost first. Safe against
     * concurrent mounts that share parent folders: a folder someone else just made is used, not claimed.
     */
    static List<Path> createMissing(Path path) throws IOException {
        List<Path> created = new ArrayList<>();
        for (int attempt = 0; ; attempt++) {
            List<Path> missing = new ArrayList<>();
            for (Path p = path; p != null && !Files.exists(p, LinkOption.NOFOLLOW_LINKS); p = p.getParent()) {
                missing.addFirst(p);
            }
            try {
                for (Path dir : missing) {
                    try {
                        Files.createDirectory(dir);
                        created.add(dir);
                    } catch (FileAlreadyExistsException raced) {
                        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
                            throw raced;
                        }
                    }
                }
                return created;
            } catch (NoSuchFileException parentRemoved) {
                if (attempt >= 3) {
                    throw parentRemoved; // another unmount removed a shared parent meanwhile: try again
                }
            }
        }
    }

    /** Removes the folders we created, innermost first, while they are empty and not mount points. */
    static void removeCreated(List<Path> created) throws IOException {
        for (Path dir : created.reversed()) {
            try {
                Files.deleteIfExists(dir);
            } catch (DirectoryNotEmptyException e) {
                return; // someone put something there: keep it and its parents
            } catch (FileSystemException e) {
                if (e.getReason() != null && e.getReason().contains("busy")) {
                    return; // something is mounted on it now: keep it and its parents
                }
                throw e;
            }
        }
    }
}
