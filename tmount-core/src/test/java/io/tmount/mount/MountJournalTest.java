package io.tmount.mount;

import io.tmount.device.AttachBackend;
import io.tmount.device.DeviceRecord;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class MountJournalTest {

    @TempDir
    Path dir;

    static JournalEntry entry(Path dir, String id) {
        MountInfo info = new MountInfo(id, TemplateId.of("t"), BuildId.of("b"), dir.resolve("mnt"), Path.of("/dev/loop7"), 7,
                dir.resolve("state/mounts/" + id + "/rootfs.ext4"), null, true, AttachBackend.FUSE_LOOP, Engine.BUILTIN, FilesystemMode.USERSPACE,
                Instant.parse("2026-11-28T12:00:00Z"), "nbd+unix:///b?socket=/x");
        return new JournalEntry(info, List.of(dir.resolve("mnt")), dir.resolve("state/mounts/" + id),
                dir.resolve("run/mounts/" + id), 123L,
                new DeviceRecord(AttachBackend.FUSE_LOOP, Path.of("/dev/loop7"), 7, 456L, dir.resolve("run/mounts/" + id + "/fuse")),
                true, true);
    }

    @Test
    void writeThenReadBack_roundTripsEveryField() throws IOException {
        MountJournal journal = new MountJournal(dir.resolve("state/mounts"));
        JournalEntry entry = entry(dir, "abc");
        journal.write(entry);
        assertThat(journal.all()).singleElement().satisfies(found -> {
            assertThat(found.entry()).isEqualTo(entry);
            assertThat(found.problem()).isNull();
        });
        assertThat(dir.resolve("state/mounts/abc/journal.json.tmp")).doesNotExist();
    }

    @Test
    void foldersWithoutOrWithUnreadableJournals_areReportedAsSuch() throws IOException {
        MountJournal journal = new MountJournal(dir.resolve("state/mounts"));
        Files.createDirectories(dir.resolve("state/mounts/empty"));
        Files.createDirectories(dir.resolve("state/mounts/torn"));
        Files.writeString(dir.resolve("state/mounts/torn/journal.json"), "{\"info\": {\"id\": ");
        List<MountJournal.Found> found = journal.all();
        assertThat(found).hasSize(2).allSatisfy(f -> assertThat(f.entry()).isNull());
        assertThat(found).filteredOn(f -> f.dir().endsWith("empty")).singleElement()
                .satisfies(f -> assertThat(f.problem()).isEqualTo("no journal"));
        assertThat(found).filteredOn(f -> f.dir().endsWith("torn")).singleElement()
                .satisfies(f -> assertThat(f.problem()).startsWith("unreadable journal"));
    }

    @Test
    void remove_deletesTheEntry() throws IOException {
        MountJournal journal = new MountJournal(dir.resolve("state/mounts"));
        journal.write(entry(dir, "abc"));
        journal.remove("abc");
        assertThat(journal.all()).singleElement().satisfies(f -> assertThat(f.problem()).isEqualTo("no journal"));
    }
}
