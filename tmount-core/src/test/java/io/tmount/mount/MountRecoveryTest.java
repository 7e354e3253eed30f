package io.tmount.mount;

import io.tmount.device.AttachedDevice;
import io.tmount.device.Attachers;
import io.tmount.device.FuseLoopAttacher;
import io.tmount.device.QemuNbdServer;
import io.tmount.image.FileImage;
import io.tmount.nbd.NbdExport;
import io.tmount.nbd.NbdListen;
import io.tmount.nbd.NbdServer;
import io.tmount.os.MountTable;
import io.tmount.os.PathHolders;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.HostState;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Start-up recovery against real leftovers: a mount built the way the assembler builds it, journaled, whose owner
 * then "dies" (its NBD server stops without any teardown). Opening a manager on that state dir takes it apart.
 * The real thing, a daemon killed with SIGKILL, is covered in tmount-cli's DaemonProcessTest.
 */
@ExtendWith(NoLeftovers.class)
class MountRecoveryTest {

    @TempDir
    Path dir;

    @Test
    void openingTheStateDir_reclaimsMountsLeftByADeadProcess() throws IOException {
        TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        BuildId build = new TemplateCatalog(store, dir.resolve("scratch"))
                .create(TemplateId.of("t"), null, Trees.sample(dir.resolve("src"), 4), null);
        Path state = dir.resolve("state");
        Path run = dir.resolve("run");
        MountJournal journal = new MountJournal(state.resolve("mounts"));

        // A builtin-engine mount whose server dies with its process, and a qemu-nbd mount whose server outlives it.
        Leftover builtin = leave(store, build, journal, run, "aaaaaaaaaaaa", dir.resolve("mnt/one"), Engine.BUILTIN);
        Leftover qemu = leave(store, build, journal, run, "bbbbbbbbbbbb", dir.resolve("mnt/two"), Engine.QEMU_NBD);
        Files.createDirectories(state.resolve("mounts/cccccccccccc")); // crashed before its first journal write
        assertThat(MountTable.ofThisProcess().isMountPoint(builtin.mountPath())).isTrue();

        MountManager manager = MountManager.open(new MountManagerConfig(state, run, store, Attachers.onThisHost(4),
                Duration.ofMillis(500)));
        manager.close();

        for (Leftover left : List.of(builtin, qemu)) {
            assertThat(MountTable.ofThisProcess().isMountPoint(left.mountPath())).isFalse();
            assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(run.toString()));
            assertThat(ProcessHandle.of(left.helperPid()).filter(ProcessHandle::isAlive)).isEmpty();
        }
        assertThat(ProcessHandle.of(qemu.serverPid()).filter(ProcessHandle::isAlive)).isEmpty();
        assertThat(builtin.mountPath()).doesNotExist();
        assertThat(qemu.mountPath()).doesNotExist();
        try (var states = Files.list(state.resolve("mounts")); var runs = Files.list(run.resolve("mounts"))) {
            assertThat(states).isEmpty();
            assertThat(runs).isEmpty();
        }
        store.close();
    }

    private record Leftover(Path mountPath, long helperPid, Long serverPid) {
    }

    /** Builds a mount and its journal, then abandons it as a killed process would. */
    private Leftover leave(TemplateStore store, BuildId build, MountJournal journal, Path run, String id, Path mountPath,
                           Engine engine) throws IOException {
        Path stateDir = journal.dirOf(id);
        Path runtimeDir = run.resolve("mounts").resolve(id);
        Files.createDirectories(stateDir);
        Files.createDirectories(runtimeDir);
        List<Path> created = MountPaths.createMissing(mountPath);
        Path copy = stateDir.resolve("rootfs.ext4");
        store.downloadRootfs(build, copy);
        MountInfo info = new MountInfo(id, TemplateId.of("t"), build, mountPath, null, -1, copy, false, null, engine,
                Instant.now(), null);
        JournalEntry entry = new JournalEntry(info, created, stateDir, runtimeDir, null, null, false);
        journal.write(entry);

        FileImage image = null;
        NbdServer server = null;
        QemuNbdServer qemu = null;
        AttachedDevice device;
        if (engine == Engine.QEMU_NBD) {
            qemu = QemuNbdServer.start(copy, runtimeDir.resolve("nbd.sock"), build.value(), false, Duration.ofSeconds(15));
            entry = entry.withServerPid(qemu.pid());
            device = FuseLoopAttacher.onThisHost().attach(qemu.endpoint(), false, runtimeDir);
        } else {
            image = FileImage.open(copy, false);
            server = NbdServer.start(NbdListen.unix(runtimeDir.resolve("nbd.sock")), new NbdExport(build.value(), "", image, false));
            device = FuseLoopAttacher.onThisHost().attach(server.endpoint(), false, runtimeDir);
        }
        entry = entry.withDevice(device.record());
        new FilesystemMounter(MountTable.ofThisProcess(), PathHolders.ofThisHost(), Duration.ofSeconds(1))
                .mount(device.devicePath(), mountPath, false);
        journal.write(entry.withMounted(info));
        Files.writeString(mountPath.resolve("dirty"), "written just before the crash");

        // the process dies: its in-process server goes with it; nbdfuse, the loop, the mounts and qemu-nbd stay
        if (server != null) {
            server.close();
            image.close();
        }
        return new Leftover(mountPath, device.record().helperPid(), qemu == null ? null : qemu.pid());
    }
}
