package io.tmount.mount;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.json.TmountJson;
import io.tmount.os.AtomicFiles;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The mount journal: one {@code journal.json} per mount in {@code stateDir/mounts/ID/}. Each write goes to a temp
 * file, is synced, and replaces the old one by rename, so a crash leaves either the old or the new entry, never a torn one.
 */
final class MountJournal {

    static final String FILE = "journal.json";

    /** A mount folder and what its journal says (null when absent or unreadable, with the reason). */
    record Found(Path dir, JournalEntry entry, String problem) {
    }

    private final Path mountsDir;
    private final ObjectMapper mapper = TmountJson.newMapper();

    MountJournal(Path mountsDir) {
        this.mountsDir = mountsDir;
    }

    Path dirOf(String mountId) {
        return mountsDir.resolve(mountId);
    }

    void write(JournalEntry entry) throws IOException {
        Path dir = dirOf(entry.info().id());
        Files.createDirectories(dir);
        AtomicFiles.replace(dir.resolve(FILE), mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(entry));
    }

    void remove(String mountId) throws IOException {
        Path dir = dirOf(mountId);
        Files.deleteIfExists(dir.resolve(FILE + ".tmp"));
        Files.deleteIfExists(dir.resolve(FILE));
    }

    /** Every mount folder left in the state dir. */
    /** The mount's entry as last written. */
    JournalEntry read(String mountId) throws IOException {
        return mapper.readValue(dirOf(mountId).resolve(FILE).toFile(), JournalEntry.class);
    }

    List<Found> all() throws IOException {
        List<Found> found = new ArrayList<>();
        if (!Files.isDirectory(mountsDir)) {
            return found;
        }
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(mountsDir, Files::isDirectory)) {
            for (Path dir : dirs) {
                Path file = dir.resolve(FILE);
                if (!Files.exists(file)) {
                    found.add(new Found(dir, null, "no journal"));
                    continue;
                }
                try {
                    found.add(new Found(dir, mapper.readValue(file.toFile(), JournalEntry.class), null));
                } catch (IOException e) {
                    found.add(new Found(dir, null, "unreadable journal: " + e.getMessage()));
                }
            }
        }
        return found;
    }
}
