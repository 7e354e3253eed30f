package io.tmount.mount;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each mount path holds: an operation in progress, or an active mount. A path is reserved while it is being
 * mounted, unmounted or committed, so a second operation on it is refused instead of racing the first.
 */
final class MountSlots {

    /** What a mount path holds. */
    sealed interface Slot permits Busy, ActiveMount {
    }

    enum Busy implements Slot {
        MOUNTING("mounted"), UNMOUNTING("unmounted"), COMMITTING("committed");

        private final String doing;

        Busy(String doing) {
            this.doing = doing;
        }
    }

    private final ConcurrentHashMap<Path, Slot> slots = new ConcurrentHashMap<>();

    /** Reserves a free path for a mount; refused when anything holds it. */
    void reserve(Path path) {
        Slot existing = slots.putIfAbsent(path, Busy.MOUNTING);
        if (existing instanceof ActiveMount active) {
            throw TmountException.conflict("%s is already mounted (template %s build %s)", path,
                    active.info().templateId(), active.info().buildId());
        }
        if (existing instanceof Busy busy) {
            throw TmountException.conflict("%s is busy being %s right now", path, busy.doing);
        }
    }

    /** Takes the active mount at the path for an operation; put it back with {@link #put}, or {@link #free} it. */
    ActiveMount take(Path path, Busy doing) {
        Slot slot = slots.get(path);
        if (slot == null) {
            throw TmountException.notFound("nothing is mounted by tmount at %s", path);
        }
        if (!(slot instanceof ActiveMount mount) || !slots.replace(path, mount, doing)) {
            throw TmountException.conflict("%s is busy being %s right now", path,
                    slot instanceof Busy busy ? busy.doing : "changed");
        }
        return mount;
    }

    /** The path holds the mount (again). */
    void put(Path path, ActiveMount mount) {
        slots.put(path, mount);
    }

    /** The path holds nothing any more. */
    void free(Path path) {
        slots.remove(path);
    }

    Optional<ActiveMount> active(Path path) {
        return slots.get(path) instanceof ActiveMount mount ? Optional.of(mount) : Optional.empty();
    }

    List<ActiveMount> active() {
        return slots.values().stream().filter(ActiveMount.class::isInstance).map(ActiveMount.class::cast).toList();
    }

    /** A mount above an active (or reserved) one would hide it. */
    void refuseCovering(Path path) {
        for (Path other : slots.keySet()) {
            if (!other.equals(path) && other.startsWith(path)) {
                throw TmountException.conflict("%s would cover the tmount mount at %s; choose another path", path, other);
            }
        }
    }

    /**
     * Creates the missing folders of a new mount path. Folders another active mount created above it are listed
     * too, so whichever of the two goes last removes them.
     */
    List<Path> foldersFor(Path path) throws IOException {
        List<Path> folders = new ArrayList<>();
        for (ActiveMount other : active()) {
            // only folders above the other mount: its mount point and what is inside belong to it
            other.createdDirs().stream()
                    .filter(dir -> path.startsWith(dir) && !dir.equals(path))
                    .filter(dir -> !dir.startsWith(other.info().mountPath()))
                    .filter(dir -> !folders.contains(dir)).forEach(folders::add);
        }
        folders.addAll(MountPaths.createMissing(path));
        folders.sort(Comparator.comparing(Path::getNameCount));
        return folders;
    }
}
