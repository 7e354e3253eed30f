package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.os.Folders;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.HostState;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Start-up recovery for real: a process owning mounts is killed with SIGKILL after acknowledged, fsynced writes;
 * opening a manager on its state dir takes the dead mounts apart and brings them back, the writes intact.
 */
@ExtendWith(NoLeftovers.class)
class MountRecoveryTest {

    @TempDir
    Path dir;

    private Path storeDir;
    private BuildId build;
    private Path source;
    private Path state;
    private Path run;
    private Path builtin;
    private Path qemu;
    private Path ephemeral;
    private Path userspace;

    /** Mounts with each engine in a child process, writes and fsyncs a file in each, and kills it with SIGKILL. */
    private void crashAnOwner() throws Exception {
        storeDir = dir.resolve("store");
        source = Trees.sample(dir.resolve("src"), 4);
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open())) {
            build = new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("t"), null, source, null);
        }
        state = dir.resolve("state");
        run = dir.resolve("run");
        builtin = dir.resolve("mnt/builtin");
        qemu = dir.resolve("mnt/qemu");
        ephemeral = dir.resolve("mnt/build-root");
        userspace = dir.resolve("mnt/userspace");
        Process owner = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                CrashingOwner.class.getName(), state.toString(), run.toString(), storeDir.toString(), "t",
                build.value(), builtin.toString(), qemu.toString(), ephemeral.toString(), userspace.toString())
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(owner.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            StringBuilder seen = new StringBuilder();
            while ((line = out.readLine()) != null && !line.equals("READY")) {
                seen.append(line).append('\n');
            }
            assertThat(line).as("the owner process did not get ready:\n%s", seen).isEqualTo("READY");
        }
        owner.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no cleanup of any kind
        assertThat(MountTable.ofThisProcess().isMountPoint(builtin)).isTrue();
    }

    private MountManager reopen(TemplateStore store) {
        return MountManager.open(new MountManagerConfig(state, run, store, Attachers.onThisHost(4), Duration.ofMillis(500)));
    }

    @Test
    void afterSigkill_mountsComeBackWithTheirAcknowledgedWrites() throws Exception {
        crashAnOwner();
        // an unfinished mount of the dead process: discarded, not restored
        Files.createDirectories(state.resolve("mounts/cccccccccccc"));
        Files.writeString(state.resolve("mounts/cccccccccccc/junk"), "x");

        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open());
             MountManager manager = reopen(store)) {
            assertThat(manager.listMounts()).extracting(MountInfo::mountPath)
                    .containsExactlyInAnyOrder(builtin, qemu, userspace);
            assertThat(builtin.resolve("acknowledged.txt")).hasContent("written by builtin before the crash");
            // the userspace mount's fuse2fs flushed and exited when recovery unmounted it, and a new one serves it
            assertThat(userspace.resolve("acknowledged.txt")).hasContent("written through fuse2fs before the crash");
            assertThat(manager.listMounts()).filteredOn(m -> m.mountPath().equals(userspace)).singleElement()
                    .satisfies(m -> {
                        assertThat(m.fs()).isEqualTo(FilesystemMode.USERSPACE);
                        assertThat(m.problem()).isNull();
                    });
            assertThat(Trees.checksums(userspace)).containsAllEntriesOf(Trees.checksums(source));
            assertThat(qemu.resolve("acknowledged.txt")).hasContent("written by qemu-nbd before the crash");
            assertThat(Trees.checksums(builtin)).containsAllEntriesOf(Trees.checksums(source));
            // the ephemeral mount is taken apart and discarded with its overlay, not restored or kept
            assertThat(ephemeral).doesNotExist();
            try (var left = Files.list(state.resolve("mounts"))) {
                assertThat(left).hasSize(3);
            }
            assertThat(state.resolve("orphans")).doesNotExist();
            assertThat(state.resolve("mounts/cccccccccccc")).doesNotExist();
            // the restored mount is an ordinary one: it can be committed and unmounted
            CommitResult commit = manager.commit(builtin, null);
            assertThat(commit.changed()).isTrue();
            for (Path mnt : List.of(builtin, qemu, userspace)) {
                manager.unmountTemplate(mnt);
            }
            // the committed layer holds the write that survived the crash
            manager.mountTemplate(TemplateId.of("t"), commit.build(), dir.resolve("check"), MountOptions.defaults().withReadOnly(true));
            assertThat(dir.resolve("check/acknowledged.txt")).hasContent("written by builtin before the crash");
            manager.unmountTemplate(dir.resolve("check"));
        }
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
        assertThat(dir.resolve("mnt")).doesNotExist();
    }

    @Test
    void aMountPathWhoseFoldersAreGone_isRestoredIntoRecreatedFolders() throws Exception {
        crashAnOwner();
        // as after a reboot that emptied a tmpfs: the dead mount is off its path and the folders tmount made are gone
        Run.ok("umount", "-l", builtin.toString());
        Run.ok("umount", "-l", qemu.toString());
        Run.ok("umount", "-l", ephemeral.toString());
        Run.ok("umount", "-l", userspace.toString()); // its fuse2fs then exits by itself
        Folders.deleteTree(dir.resolve("mnt"));

        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open());
             MountManager manager = reopen(store)) {
            assertThat(manager.listMounts()).extracting(MountInfo::mountPath)
                    .containsExactlyInAnyOrder(builtin, qemu, userspace);
            assertThat(builtin.resolve("acknowledged.txt")).hasContent("written by builtin before the crash");
            // the userspace mount's fuse2fs flushed and exited when recovery unmounted it, and a new one serves it
            assertThat(userspace.resolve("acknowledged.txt")).hasContent("written through fuse2fs before the crash");
            assertThat(manager.listMounts()).filteredOn(m -> m.mountPath().equals(userspace)).singleElement()
                    .satisfies(m -> {
                        assertThat(m.fs()).isEqualTo(FilesystemMode.USERSPACE);
                        assertThat(m.problem()).isNull();
                    });
            assertThat(Trees.checksums(userspace)).containsAllEntriesOf(Trees.checksums(source));
            assertThat(qemu.resolve("acknowledged.txt")).hasContent("written by qemu-nbd before the crash");
            manager.unmountTemplate(builtin);
            manager.unmountTemplate(qemu);
            manager.unmountTemplate(userspace);
        }
        assertThat(dir.resolve("mnt")).doesNotExist(); // the recreated folders are removed like the first ones
    }

    @Test
    void aMountThatCannotBeRestored_keepsItsOverlayUnderOrphans() throws Exception {
        crashAnOwner();
        Path overlayDir = state.resolve("mounts/" + mountIdOf(builtin) + "/overlay");
        long dataBytes = Files.size(overlayDir.resolve("overlay.data"));
        Files.writeString(overlayDir.resolve("overlay.map"), "damaged"); // the restore fails opening the overlay

        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open());
             MountManager manager = reopen(store)) {
            assertThat(manager.listMounts()).extracting(MountInfo::mountPath)
                    .containsExactlyInAnyOrder(qemu, userspace);
            manager.unmountTemplate(qemu);
            manager.unmountTemplate(userspace);
        }
        Path kept = state.resolve("orphans/" + overlayDir.getParent().getFileName() + "/overlay");
        assertThat(kept.resolve("overlay.data")).exists();
        assertThat(Files.size(kept.resolve("overlay.data"))).isEqualTo(dataBytes).isPositive();
        assertThat(overlayDir.getParent()).doesNotExist();
        assertThat(MountTable.ofThisProcess().isMountPoint(builtin)).isFalse();
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    /** The id of the journaled mount at a path: the folder under mounts/ whose journal names it. */
    private String mountIdOf(Path mountPath) throws IOException {
        try (var dirs = Files.list(state.resolve("mounts"))) {
            return dirs.filter(d -> {
                try {
                    return Files.readString(d.resolve("journal.json")).contains("\"" + mountPath + "\"");
                } catch (IOException e) {
                    return false;
                }
            }).findFirst().orElseThrow().getFileName().toString();
        }
    }
}
