package io.tmount.mount;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Whether a mount is new, or one an earlier process had, brought back from its journal entry. A restored mount was
 * handed out before: its overlay (or local copy) and journal entry hold writes the kernel was told are durable, so a
 * failure to restore it leaves them for recovery, and its path is not checked again for being empty.
 */
sealed interface MountOrigin {

    /** The folders tmount created for the mount path, creating the missing ones. */
    List<Path> folders(Path path, MountSlots slots) throws IOException;

    record Fresh() implements MountOrigin {
        @Override
        public List<Path> folders(Path path, MountSlots slots) throws IOException {
            return slots.foldersFor(path);
        }
    }

    /** {@code createdDirs}: the folders the earlier process created for it. */
    record Restored(List<Path> createdDirs) implements MountOrigin {
        public Restored {
            createdDirs = List.copyOf(createdDirs);
        }

        /** Those folders, and any it must create again (gone with a reboot's tmpfs). */
        @Override
        public List<Path> folders(Path path, MountSlots slots) throws IOException {
            List<Path> folders = new ArrayList<>(createdDirs);
            MountPaths.createMissing(path).stream().filter(dir -> !folders.contains(dir)).forEach(folders::add);
            folders.sort(Comparator.comparing(Path::getNameCount));
            return folders;
        }
    }
}
