package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.HostState;
import io.tmount.testing.HostTool;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The daemon killed with SIGKILL at named points of mounting and committing (reached deterministically through
 * {@link Checkpoints}, not by timing), then a manager opened on its state dir: every case ends restored with its
 * fsynced write, or cleaned up, with no mount, loop device or helper left, no writer hanging, and no mount that
 * comes back after it was unmounted.
 */
@ExtendWith(NoLeftovers.class)
class CrashPointsTest {

    private static final TemplateId TEMPLATE = TemplateId.of("t");

    @TempDir
    Path dir;

    private Path storeDir;
    private BuildId build;
    private Path state;
    private Path run;
    private Path first;
    private Path second;

    @BeforeEach
    void template() throws IOException {
        storeDir = dir.resolve("store");
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open())) {
            build = new TemplateCatalog(store, dir.resolve("scratch")).create(TEMPLATE, null,
                    Trees.sample(dir.resolve("src"), 6), null);
        }
        state = dir.resolve("state");
        run = dir.resolve("run");
        first = dir.resolve("mnt/first");
        second = dir.resolve("mnt/second");
    }

    @Test
    void killedWhileMountingInsideAnotherMount_theInnerOneIsTakenApartFirst_andTheOuterComesBack() throws Exception {
        second = first.resolve("inner");
        killAt(Checkpoints.MOUNTED);
        assertThat(MountTable.ofThisProcess().isMountPoint(second)).isTrue();
        try (TemplateStore store = store(); MountManager manager = reopen(store)) {
            assertThat(manager.listMounts()).extracting(MountInfo::mountPath).containsExactly(first);
            assertThat(first.resolve("acknowledged.txt")).hasContent("written before the crash");
            assertThat(MountTable.ofThisProcess().isMountPoint(second)).isFalse();
            manager.unmountTemplate(first);
        }
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    @Test
    void killedWhileAClientReadsAnExport_theClientGetsAnError_andTheNextStartRemovesTheExport() throws Exception {
        second = dir.resolve("sockets/made/for-it.sock");
        Files.createDirectories(dir.resolve("sockets"));
        Process[] reader = new Process[1];
        try {
            killAt(CheckpointOwner.EXPORT_SERVING, () -> {
                // reads and writes for as long as the server answers
                reader[0] = new ProcessBuilder("env", "PATH=/usr/bin:/bin", HostTool.require("nbdsh", "libnbd-bin").toString(),
                        "-u", "nbd+unix:///crash?socket=" + second, "-c",
                        "import itertools\nfor i in itertools.count():\n    h.pwrite(b'x' * 4096, (i % 64) * 65536)\n"
                                + "    assert len(h.pread(65536, (i % 64) * 65536)) == 65536\n    open('" + dir.resolve("served")
                                + "', 'w').write(str(i))")
                        .redirectErrorStream(true).redirectOutput(dir.resolve("reader.log").toFile()).start();
                awaitFile(dir.resolve("served"), reader[0], dir.resolve("reader.log"));
            });
            assertThat(reader[0].waitFor(30, TimeUnit.SECONDS)).as("the client hangs on a dead server").isTrue();
            assertThat(reader[0].exitValue()).isNotZero();
            try (TemplateStore store = store(); TmountHost host = TmountHost.open(new MountManagerConfig(state, run, store,
                    Attachers.onThisHost(4), Duration.ofMillis(500)), dir.resolve("builds"))) {
                assertThat(host.exports().list()).isEmpty();
                assertThat(dir.resolve("sockets/made")).doesNotExist(); // with the folder made for the socket
                assertThat(dir.resolve("sockets")).isDirectory();
                try (var left = Files.list(state.resolve("exports"))) {
                    assertThat(left).isEmpty();
                }
                assertThat(host.mounts().listMounts()).extracting(MountInfo::mountPath).containsExactly(first);
                host.mounts().unmountTemplate(first);
            }
        } finally {
            if (reader[0] != null) {
                reader[0].destroyForcibly();
            }
        }
    }

    private static void awaitFile(Path file, Process process, Path log) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(file) && process.isAlive() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        assertThat(file).as("the client never got a reply: %s", Files.readString(log)).exists();
    }

    /** Runs {@link CheckpointOwner} to {@code point} and kills it there with SIGKILL. */
    private void killAt(String point) throws Exception {
        killAt(point, () -> {
        });
    }

    /** The same, running {@code beforeKill} once the owner is at the point. */
    private void killAt(String point, ThrowingRunnable beforeKill) throws Exception {
        Path marker = dir.resolve("reached");
        Process owner = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                CheckpointOwner.class.getName(), state.toString(), run.toString(), storeDir.toString(), TEMPLATE.value(),
                build.value(), first.toString(), second.toString(), point, marker.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("owner.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(marker) && owner.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(marker).as("the owner did not reach %s:\n%s", point, Files.readString(dir.resolve("owner.log")))
                    .exists();
            assertThat(Files.readString(marker)).isEqualTo(point);
            beforeKill.run();
        } finally {
            owner.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no cleanup of any kind
        }
    }

    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    private MountManager reopen(TemplateStore store) {
        return MountManager.open(new MountManagerConfig(state, run, store, Attachers.onThisHost(4), Duration.ofMillis(500)));
    }

    private TemplateStore store() throws IOException {
        return new TemplateStore(new StoreLocation.Local(storeDir).open());
    }

    @Test
    void killedWhileACommitHasTheFilesystemFrozen_recoveryThawsIt_andTheBlockedWriterGoesOn() throws Exception {
        killAt(Checkpoints.COMMIT_FROZEN);
        // a writer of the frozen filesystem blocks (uninterruptibly) until someone thaws it
        Process writer = new ProcessBuilder("sh", "-c", "echo late > " + first.resolve("late.txt")).start();
        assertThat(writer.waitFor(1, TimeUnit.SECONDS)).as("the filesystem should be frozen").isFalse();
        try (TemplateStore store = store(); MountManager manager = reopen(store)) {
            assertThat(writer.waitFor(30, TimeUnit.SECONDS)).as("the writer still hangs: the filesystem stayed frozen")
                    .isTrue();
            assertThat(manager.listMounts()).extracting(MountInfo::mountPath).containsExactly(first);
            assertThat(first.resolve("acknowledged.txt")).hasContent("written before the crash");
            manager.unmountTemplate(first);
        } finally {
            writer.destroyForcibly();
        }
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    @Test
    void aRestoredMount_holdsItsUncommittedWrites_andOnceUnmountedNeverComesBack() throws Exception {
        killAt(Checkpoints.COMMIT_FROZEN);
        try (TemplateStore store = store(); MountManager manager = reopen(store)) {
            // what it held before the crash was never committed, however little ext4 writes after the restore
            assertThat(manager.hasUncommittedChanges(first)).isTrue();
            CommitResult commit = manager.commit(first, null);
            assertThat(commit.changed()).isTrue();
            assertThat(manager.hasUncommittedChanges(first)).isFalse();
            manager.unmountTemplate(first);
        }
        try (TemplateStore store = store(); MountManager manager = reopen(store)) {
            assertThat(manager.listMounts()).isEmpty();
        }
        try (var left = Files.list(state.resolve("mounts"))) {
            assertThat(left).isEmpty();
        }
        assertThat(MountTable.ofThisProcess().isMountPoint(first)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {CheckpointOwner.HEADER_STORED, CheckpointOwner.DATA_STORED})
    void killedWhileACommitStoresItsBuild_theHalfStoredBuildAndThePackedDataGo_andTheIdIsUsable(String point)
            throws Exception {
        // issue 12 D8: the packed data stayed in the state dir, the header in the store, and the id was unusable
        killAt(point);
        Path folder = storeDir.resolve(CheckpointOwner.COMMITTED.value());
        assertThat(folder.resolve(TemplateStore.HEADER)).exists();
        try (TemplateStore store = store(); MountManager manager = reopen(store)) {
            assertThat(folder).doesNotExist();
            try (var files = Files.walk(state.resolve("mounts"))) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .noneMatch(n -> n.startsWith("commit-") || n.startsWith("framed-"));
            }
            // the id is free again: a commit under it stores the mount's changes whole
            CommitResult again = manager.commit(first, CheckpointOwner.COMMITTED);
            assertThat(again.changed()).isTrue();
            assertThat(io.tmount.image.BuildReport.of(store, CheckpointOwner.COMMITTED).parent()).isEqualTo(build);
            manager.unmountTemplate(first);
        }
    }

    @Test
    void killedOnceTheBuildIsComplete_theBuildStaysWhole_andTheMountComesBack() throws Exception {
        killAt(CheckpointOwner.METADATA_STORED);
        try (TemplateStore store = store(); MountManager manager = reopen(store)) {
            // a committed build is complete or absent: this one is complete, and recovery leaves it alone
            assertThat(store.exists(CheckpointOwner.COMMITTED)).isTrue();
            assertThat(io.tmount.image.BuildReport.of(store, CheckpointOwner.COMMITTED).parent()).isEqualTo(build);
            try (var files = Files.walk(state.resolve("mounts"))) {
                assertThat(files.map(p -> p.getFileName().toString()))
                        .noneMatch(n -> n.startsWith("commit-") || n.startsWith("framed-"));
            }
            assertThat(manager.listMounts()).extracting(MountInfo::mountPath).containsExactly(first);
            manager.mountTemplate(TEMPLATE, CheckpointOwner.COMMITTED, second, MountOptions.defaults().withReadOnly(true));
            assertThat(second.resolve("acknowledged.txt")).hasContent("written before the crash");
            manager.unmountTemplate(second);
            manager.unmountTemplate(first);
        }
    }

    @Test
    void killedWhileUnmounting_theNextStartFinishesTheUnmount_insteadOfBringingItBack() throws Exception {
        killAt(Checkpoints.UNMOUNTED);
        assertThat(MountTable.ofThisProcess().isMountPoint(first)).isFalse(); // the filesystem went before the kill
        try (TemplateStore store = store(); MountManager manager = reopen(store)) {
            assertThat(manager.listMounts()).isEmpty();
        }
        try (var left = Files.list(state.resolve("mounts"))) {
            assertThat(left).isEmpty();
        }
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
        assertThat(first).doesNotExist(); // the folders the mount made go with it
    }

    @ParameterizedTest
    @ValueSource(strings = {Checkpoints.SERVING, Checkpoints.ATTACHED, Checkpoints.MOUNTED})
    void killedWhileMounting_theHalfMadeMountIsCleanedUp_andTheOtherComesBack(String point) throws Exception {
        killAt(point);
        try (TemplateStore store = store(); MountManager manager = reopen(store)) {
            assertThat(manager.listMounts()).extracting(MountInfo::mountPath).containsExactly(first);
            assertThat(MountTable.ofThisProcess().isMountPoint(second)).isFalse();
            assertThat(second).doesNotExist();
            manager.unmountTemplate(first);
        }
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
        try (var left = Files.list(run.resolve("mounts"))) {
            assertThat(left).isEmpty();
        }
    }
}
