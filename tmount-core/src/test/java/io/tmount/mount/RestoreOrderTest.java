package io.tmount.mount;

import io.tmount.device.AttachBackend;
import io.tmount.device.Attachers;
import io.tmount.os.FilesystemMounter;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The order recovery brings mounts back in, and what it keeps of one that cannot come back. */
class RestoreOrderTest {

    @TempDir
    Path dir;

    private JournalEntry entry(MountJournal journal, String id, Path mountPath) throws Exception {
        MountInfo info = new MountInfo(id, TemplateId.of("t"), BuildId.of("b"), mountPath, null, -1, null, null, false,
                AttachBackend.FUSE_LOOP, Engine.BUILTIN, FilesystemMode.KERNEL, Instant.now(), null);
        // another boot's entry: nothing of it can exist any more, so recovery does not touch devices or processes
        JournalEntry e = new JournalEntry(info, List.of(), journal.dirOf(id), dir.resolve("run/mounts/" + id), null,
                null, true, "another-boot", false);
        journal.write(e);
        return e;
    }

    private MountRecovery recovery(MountJournal journal) {
        MountTable table = MountTable.ofThisProcess();
        MountFilesystems filesystems = new MountFilesystems(new FilesystemMounter(table,
                io.tmount.os.PathHolders.ofThisHost(), java.time.Duration.ofMillis(100)),
                new io.tmount.os.UserspaceExt4(table, io.tmount.os.SandboxUsers.ofThisHost(),
                        io.tmount.os.UserspaceExt4.Limits.defaults(), java.time.Duration.ofSeconds(30)),
                dir.resolve("run/mounts"));
        return new MountRecovery(journal, Attachers.onThisHost(1), filesystems, table,
                dir.resolve("run/mounts"), dir.resolve("state/orphans"), null);
    }

    @Test
    void parentsComeBackBeforeWhatIsMountedInsideThem_whateverOrderTheFoldersAreListedIn() throws Exception {
        MountJournal journal = new MountJournal(dir.resolve("state/mounts"));
        // ids chosen so that any listing order puts some nested mount first in one of the pairs
        entry(journal, "aaaaaaaaaaa1", Path.of("/srv/x/a/tmp/n"));
        entry(journal, "bbbbbbbbbbb2", Path.of("/srv/x/a"));
        entry(journal, "ccccccccccc3", Path.of("/srv/x/a/tmp/n/deeper"));
        entry(journal, "ddddddddddd4", Path.of("/srv/y"));
        List<Path> order = new ArrayList<>();
        recovery(journal).run(e -> {
            order.add(e.info().mountPath());
            return e.info();
        });
        assertThat(order).containsSubsequence(Path.of("/srv/x/a"), Path.of("/srv/x/a/tmp/n"), Path.of("/srv/x/a/tmp/n/deeper"));
        assertThat(order).hasSize(4);
    }

    @Test
    void aMountThatCannotComeBack_isKeptUnderOrphans_withTheJournalSayingWhatItWas() throws Exception {
        MountJournal journal = new MountJournal(dir.resolve("state/mounts"));
        entry(journal, "eeeeeeeeeee5", Path.of("/srv/gone"));
        Files.writeString(journal.dirOf("eeeeeeeeeee5").resolve("overlay.data"), "acknowledged writes");
        recovery(journal).run(e -> {
            throw new IllegalStateException("its build is gone");
        });
        Path kept = dir.resolve("state/orphans/eeeeeeeeeee5");
        assertThat(kept.resolve("overlay.data")).hasContent("acknowledged writes");
        assertThat(Files.readString(kept.resolve(MountJournal.FILE))).contains("/srv/gone");
        assertThat(journal.dirOf("eeeeeeeeeee5")).doesNotExist();
    }
}
