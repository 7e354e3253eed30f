package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.device.Attachers;
import io.tmount.device.AttachBackend;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The library API with real mounts: store → local copy → NBD server → nbdfuse → loop → ext4. */
@ExtendWith(NoLeftovers.class)
class MountManagerTest {

    private static final TemplateId TEMPLATE = TemplateId.of("base");

    @TempDir
    Path dir;

    private TemplateStore store;
    private BuildId build;
    private Path source;
    private MountManager manager;

    @BeforeEach
    void setUp() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        source = Trees.sample(dir.resolve("src"), 1);
        build = new TemplateCatalog(store, dir.resolve("scratch")).create(TEMPLATE, null, source, null);
        manager = MountManager.open(config());
    }

    private MountManagerConfig config() {
        return new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store, Attachers.onThisHost(4),
                Duration.ofMillis(500));
    }

    @AfterEach
    void tearDown() throws IOException {
        manager.close();
        store.close();
    }

    @Test
    void aMountWhoseHelperDied_isListedWithItsProblem_andUnmountsCleanly() throws IOException {
        Path mnt = dir.resolve("mnt");
        MountInfo info = manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
        assertThat(manager.listMounts()).singleElement().extracting(MountInfo::problem).isNull();
        // the mount's nbdfuse, found by its runtime folder on its command line
        ProcessHandle nbdfuse = ProcessHandle.allProcesses()
                .filter(p -> HostState.cmdline(p.pid()).split(" ")[0].endsWith("nbdfuse")
                        && HostState.cmdline(p.pid()).contains("/run/mounts/" + info.id() + "/"))
                .findFirst().orElseThrow();
        nbdfuse.destroyForcibly();
        nbdfuse.onExit().join();

        assertThat(manager.listMounts()).singleElement().extracting(MountInfo::problem).asString()
                .contains("nbdfuse (pid " + nbdfuse.pid() + ") exited").contains("unmount and mount again");
        manager.unmountTemplate(mnt);
        assertThat(manager.listMounts()).isEmpty();
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
        assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
    }

    @Test
    void aMountUnmountedBehindTmountsBack_isListedWithItsProblem_andStillReleased() throws IOException {
        Path mnt = dir.resolve("mnt");
        MountInfo info = manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
        Run.ok("umount", mnt.toString());
        assertThat(manager.listMounts()).singleElement().extracting(MountInfo::problem).asString()
                .contains("is not what is mounted at " + mnt).contains(info.devicePath().toString());
        manager.unmountTemplate(mnt);
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    @Test
    void aFolderWithSomethingInIt_isNotMountedOver_unlessAskedFor() throws IOException {
        // issue 12 D19: a mount over a busy shared folder hid it from every user until the unmount, without a word
        Path busy = Files.createDirectories(dir.resolve("shared"));
        Files.writeString(busy.resolve("someone-elses.txt"), "in use");
        assertThatThrownBy(() -> manager.mountTemplate(TEMPLATE, build, busy, MountOptions.defaults()))
                .isInstanceOf(TmountException.class).hasMessageContaining(busy + " is not empty (1 entries)")
                .hasMessageContaining("--allow-non-empty");
        assertThat(manager.listMounts()).isEmpty();
        manager.mountTemplate(TEMPLATE, build, busy, MountOptions.defaults().withAllowNonEmpty(true));
        try {
            assertThat(busy.resolve("someone-elses.txt")).doesNotExist(); // hidden, as asked
        } finally {
            manager.unmountTemplate(busy);
        }
        assertThat(busy.resolve("someone-elses.txt")).hasContent("in use"); // and there again, untouched
    }

    @Test
    void theStateAndRuntimeDirs_areClosedToOtherUsers() throws IOException {
        // issue 12 D10: they were 0755, so any local user could read every overlay (every write to a mount) and cache
        Path mnt = dir.resolve("mnt");
        manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
        try {
            Files.writeString(mnt.resolve("secret.txt"), "SECRET-0600");
            Files.setPosixFilePermissions(mnt.resolve("secret.txt"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            for (Path d : new Path[]{dir.resolve("state"), dir.resolve("run")}) {
                assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(d)))
                        .as("%s", d).isEqualTo("rwx------");
            }
            // as nobody, nothing under the state dir is reachable (the test's own folder opened up as /var/lib is)
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            var probe = io.tmount.testing.Run.any("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    "find", dir.resolve("state").toString(), "-name", "overlay.data");
            assertThat(probe.stdout()).doesNotContain("overlay.data");
        } finally {
            manager.unmountTemplate(mnt);
        }
    }

    @Test
    void mount_readEveryFile_write_unmount_leavesNothingAndTheBuildUntouched() throws IOException {
        String storedBefore = Trees.sha256(dir.resolve("store/" + build + "/rootfs.ext4"));
        Path mnt = dir.resolve("mnt/base");
        MountInfo info = manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());

        assertThat(info.templateId()).isEqualTo(TEMPLATE);
        assertThat(info.buildId()).isEqualTo(build);
        assertThat(info.mountPath()).isEqualTo(mnt);
        assertThat(info.devicePath().toString()).startsWith("/dev/loop");
        assertThat(info.deviceSlot()).isGreaterThanOrEqualTo(0);
        assertThat(info.tempFilePath()).isNull(); // streamed: no local copy
        assertThat(info.overlayPath()).isDirectory();
        assertThat(info.readOnly()).isFalse();
        assertThat(info.attach()).isEqualTo(AttachBackend.FUSE_LOOP);
        assertThat(info.engine()).isEqualTo(Engine.BUILTIN);
        assertThat(info.nbdUri()).startsWith("nbd+unix:///" + build);
        assertThat(MountTable.ofThisProcess().mountAt(mnt)).hasValueSatisfying(m -> {
            assertThat(m.fsType()).isEqualTo("ext4");
            assertThat(m.options()).contains("nosuid").contains("nodev");
        });
        assertThat(manager.listMounts()).containsExactly(info);

        assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));
        assertThat(Files.readSymbolicLink(mnt.resolve("etc/hostname-link"))).isEqualTo(Path.of("hostname"));
        Files.writeString(mnt.resolve("etc/new.conf"), "written through the mount\n");
        assertThat(mnt.resolve("etc/new.conf")).hasContent("written through the mount");

        manager.unmountTemplate(mnt);
        assertThat(manager.listMounts()).isEmpty();
        assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
        assertThat(dir.resolve("mnt")).doesNotExist(); // both folders were created by the mount
        assertThat(info.overlayPath()).doesNotExist();
        try (var states = Files.list(dir.resolve("state/mounts"))) {
            assertThat(states).isEmpty();
        }
        assertThat(Trees.sha256(dir.resolve("store/" + build + "/rootfs.ext4"))).isEqualTo(storedBefore);
    }

    @Test
    void readOnlyMount_refusesWrites() throws IOException {
        Path mnt = Files.createDirectories(dir.resolve("ro"));
        MountInfo info = manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
        try {
            assertThat(info.readOnly()).isTrue();
            assertThat(MountTable.ofThisProcess().mountAt(mnt).orElseThrow().options()).startsWith("ro");
            assertThatThrownBy(() -> Files.writeString(mnt.resolve("x"), "no"))
                    .isInstanceOf(FileSystemException.class).hasMessageContaining("Read-only file system");
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));
        } finally {
            manager.unmountTemplate(mnt);
        }
        assertThat(mnt).isDirectory(); // it existed before: kept
    }

    @Test
    void qemuNbdEngine_mountsTheSameContent() throws IOException {
        Path mnt = dir.resolve("q");
        MountInfo info = manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withEngine(Engine.QEMU_NBD));
        try {
            assertThat(info.engine()).isEqualTo(Engine.QEMU_NBD);
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));
            Files.writeString(mnt.resolve("written"), "x");
        } finally {
            manager.unmountTemplate(mnt);
        }
    }

    @Test
    void samePathTwice_isADuplicate_andAForeignMountIsRefused() throws IOException {
        Path mnt = dir.resolve("dup");
        manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
        try {
            assertThatThrownBy(() -> manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults()))
                    .isInstanceOf(TmountException.class).hasMessageContaining(mnt + " is already mounted (template base");
        } finally {
            manager.unmountTemplate(mnt);
        }
        Path tmpfs = Files.createDirectories(dir.resolve("tmpfs"));
        Run.ok("mount", "-t", "tmpfs", "tmpfs", tmpfs.toString());
        try {
            assertThatThrownBy(() -> manager.mountTemplate(TEMPLATE, build, tmpfs, MountOptions.defaults()))
                    .hasMessageContaining("something is already mounted at " + tmpfs + " (tmpfs");
        } finally {
            Run.ok("umount", tmpfs.toString());
        }
    }

    @Test
    void badInputs_areRefusedWithTheirMessage() {
        MountOptions options = MountOptions.defaults();
        assertThatThrownBy(() -> manager.mountTemplate("base", build.value(), "relative", options))
                .hasMessageContaining("must be absolute");
        assertThatThrownBy(() -> manager.mountTemplate("base", build.value(), "/etc/x", options))
                .hasMessageContaining("inside the system folder /etc");
        assertThatThrownBy(() -> manager.mountTemplate("base", build.value(), dir.resolve("state/x").toString(), options))
                .hasMessageContaining("tmount's own folder");
        assertThatThrownBy(() -> manager.mountTemplate("../x", build.value(), dir.resolve("m").toString(), options))
                .hasMessageContaining("template id '../x' is invalid");
        assertThatThrownBy(() -> manager.mountTemplate("base", "a/b", dir.resolve("m").toString(), options))
                .hasMessageContaining("build id 'a/b' is invalid");
        assertThatThrownBy(() -> manager.mountTemplate("base", "missing", dir.resolve("m").toString(), options))
                .hasMessageContaining("build 'missing' of template 'base' not found");
        assertThatThrownBy(() -> manager.mountTemplate("other", build.value(), dir.resolve("m").toString(), options))
                .hasMessageContaining("belongs to template 'base', not to template 'other'");
        assertThatThrownBy(() -> manager.mountTemplate("base", build.value(), dir.resolve("m").toString(),
                options.withAttach(AttachBackend.KERNEL_NBD)))
                .hasMessageContaining("kernel-nbd cannot work on this host");
        assertThatThrownBy(() -> manager.unmountTemplate(dir.resolve("never")))
                .hasMessageContaining("nothing is mounted by tmount at");
        assertThat(dir.resolve("m")).doesNotExist();
    }

    @Test
    void aFailingMount_releasesEverythingItAcquired() throws IOException {
        // a build whose image is not ext4: everything up to mount(8) succeeds, then it fails
        Files.createDirectories(dir.resolve("store/garbage"));
        Files.write(dir.resolve("store/garbage/rootfs.ext4"), new byte[8 << 20]);
        Path mnt = dir.resolve("fails/here");
        assertThatThrownBy(() -> manager.mountTemplate(TEMPLATE, BuildId.of("garbage"), mnt, MountOptions.defaults()))
                .isInstanceOf(TmountException.class).hasMessageContaining("is the image an ext4 filesystem?");
        assertThat(dir.resolve("fails")).doesNotExist();
        assertThat(manager.listMounts()).isEmpty();
        try (var states = Files.list(dir.resolve("state/mounts")); var runs = Files.list(dir.resolve("run/mounts"))) {
            assertThat(states).isEmpty();
            assertThat(runs).isEmpty();
        }
        // and the path is free again
        manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
        manager.unmountTemplate(mnt);
    }

    @Test
    void busyMount_isRetried_thenRefusedNamingTheHolder() throws Exception {
        Path mnt = dir.resolve("busy");
        manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
        Process holder = new ProcessBuilder("sleep", "60").directory(mnt.resolve("etc").toFile()).start();
        try {
            assertThatThrownBy(() -> manager.unmountTemplate(mnt))
                    .isInstanceOf(TmountException.class)
                    .hasMessageContaining(mnt + " is busy")
                    .hasMessageContaining(holder.pid() + " (sleep, cwd)")
                    .satisfies(e -> assertThat(((TmountException) e).kind()).isEqualTo(TmountException.Kind.BUSY));
            assertThat(manager.listMounts()).hasSize(1); // still mounted and still managed
        } finally {
            holder.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        manager.unmountTemplate(mnt);
        assertThat(manager.listMounts()).isEmpty();
    }

    @Test
    void concurrentMountsAndUnmounts_fromSeveralThreads() throws Exception {
        int threads = 4;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                work.add(pool.submit(() -> {
                    for (int round = 0; round < 2; round++) {
                        Path mnt = dir.resolve("c/" + id + "-" + round);
                        MountInfo info = manager.mountTemplate(TEMPLATE, build, mnt,
                                MountOptions.defaults().withReadOnly(id % 2 == 0));
                        assertThat(mnt.resolve("etc/hostname")).hasContent("template-1");
                        assertThat(info.mountPath()).isEqualTo(mnt);
                        manager.unmountTemplate(mnt);
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get(3, TimeUnit.MINUTES);
            }
        }
        assertThat(manager.listMounts()).isEmpty();
    }

    @Test
    void twoTemplatesAtOnce_andUnmountAll() throws IOException {
        Path otherSource = Trees.sample(dir.resolve("src2"), 2);
        BuildId other = new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("other"), BuildId.of("other-1"),
                otherSource, io.tmount.ByteSize.parse("48M"));
        manager.mountTemplate(TEMPLATE, build, dir.resolve("a"), MountOptions.defaults());
        manager.mountTemplate(TemplateId.of("other"), other, dir.resolve("b"), MountOptions.defaults().withReadOnly(true));
        assertThat(manager.listMounts()).extracting(MountInfo::buildId).containsExactly(build, other);
        assertThat(dir.resolve("a/etc/hostname")).hasContent("template-1");
        assertThat(dir.resolve("b/etc/hostname")).hasContent("template-2");
        manager.unmountAll();
        assertThat(manager.listMounts()).isEmpty();
        assertThat(MountTable.ofThisProcess().isMountPoint(dir.resolve("a"))).isFalse();
    }

    @Test
    void close_unmountsEverything_andFreesTheStateDir() throws IOException {
        manager.mountTemplate(TEMPLATE, build, dir.resolve("x"), MountOptions.defaults());
        assertThatThrownBy(() -> MountManager.open(config())).hasMessageContaining("in use by another tmount process");
        manager.close();
        assertThat(MountTable.ofThisProcess().isMountPoint(dir.resolve("x"))).isFalse();
        assertThatThrownBy(() -> manager.mountTemplate(TEMPLATE, build, dir.resolve("y"), MountOptions.defaults()))
                .hasMessageContaining("shutting down");
        manager = MountManager.open(config()); // the lock is free again
    }

    @Test
    void close_detachesABusyMountLazily() throws Exception {
        Path mnt = dir.resolve("held");
        manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults());
        Process holder = new ProcessBuilder("sleep", "60").directory(mnt.toFile()).start();
        try {
            manager.close();
            assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
        } finally {
            holder.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        // with its last user gone the kernel frees the detached filesystem and its loop device (autoclear)
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (HostState.loopDevices().stream().anyMatch(l -> l.contains(dir.toString())) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    @Test
    void mountsInsideMounts_areUnmountedInnerFirst_andAMountCannotCoverAnother() throws IOException {
        Path outer = dir.resolve("outer");
        manager.mountTemplate(TEMPLATE, build, outer, MountOptions.defaults());
        Path inner = outer.resolve("mnt/inner");
        manager.mountTemplate(TEMPLATE, build, inner, MountOptions.defaults().withReadOnly(true));
        assertThatThrownBy(() -> manager.unmountTemplate(outer)).isInstanceOf(TmountException.class)
                .hasMessageContaining(outer + " has other mounts inside it (" + inner + ")");
        manager.unmountAll(); // inner first
        assertThat(manager.listMounts()).isEmpty();

        manager.mountTemplate(TEMPLATE, build, dir.resolve("x/deep"), MountOptions.defaults());
        assertThatThrownBy(() -> manager.mountTemplate(TEMPLATE, build, dir.resolve("x"), MountOptions.defaults()))
                .hasMessageContaining("would cover the tmount mount at " + dir.resolve("x/deep"));
        manager.unmountAll();
    }

    @Test
    void theRuntimeDir_belongsToOneManagerToo() {
        MountManagerConfig other = new MountManagerConfig(dir.resolve("state2"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500));
        assertThatThrownBy(() -> MountManager.open(other)).hasMessageContaining("runtime dir " + dir.resolve("run")
                + " is in use by another tmount process");
    }

    @Test
    void accessDenied_isNotAnIssueForRoot() {
        // tmount runs as root; this documents the assumption the rest of the suite relies on
        assertThat(ProcessHandle.current().info().user()).hasValue("root");
        assertThat(AccessDeniedException.class).isNotNull();
    }
}
