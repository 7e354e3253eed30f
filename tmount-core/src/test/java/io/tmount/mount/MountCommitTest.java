package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.device.Attachers;
import io.tmount.image.BuildReport;
import io.tmount.image.CacheStats;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.HostTool;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.RawImages;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Copy-on-write mounts and commits with real mounts: layered chains, round trips, e2fsck, the shared cache. */
@ExtendWith(NoLeftovers.class)
class MountCommitTest {

    private static final TemplateId TEMPLATE = TemplateId.of("base");

    @TempDir
    Path dir;

    private TemplateStore store;
    private MountManager manager;
    private Path expected;
    private BuildId base;

    @BeforeEach
    void setUp() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        expected = Trees.sample(dir.resolve("expected"), 1);
        base = new TemplateCatalog(store, dir.resolve("scratch")).create(TEMPLATE, null, expected,
                io.tmount.ByteSize.parse("64M"));
        manager = MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)).withCache(256 * 1024, 1L << 30));
    }

    @AfterEach
    void tearDown() throws IOException {
        manager.close();
        store.close();
    }

    /** The same change to the mounted tree and to the expected one. */
    private void change(Path mnt, int round) throws IOException {
        for (Path root : new Path[]{mnt, expected}) {
            Files.writeString(root.resolve("etc/hostname"), "changed in round " + round + "\n");
            Files.createDirectories(root.resolve("round-" + round));
            byte[] data = new byte[300_000 + round];
            new Random(round).nextBytes(data);
            Files.write(root.resolve("round-" + round + "/data.bin"), data);
            Files.deleteIfExists(root.resolve("var/data/blob-" + round + ".bin"));
        }
    }

    @Test
    void aThreeLevelChain_base_commit_commit_isMountedFileByFile() throws IOException {
        Path mnt = dir.resolve("mnt");
        manager.mountTemplate(TEMPLATE, base, mnt, MountOptions.defaults());
        change(mnt, 1);
        CommitResult first = manager.commit(mnt, null);
        manager.unmountTemplate(mnt);
        assertThat(first.changed()).isTrue();
        assertThat(first.parent()).isEqualTo(base);

        manager.mountTemplate(TEMPLATE, first.build(), mnt, MountOptions.defaults());
        assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(expected));
        change(mnt, 2);
        CommitResult second = manager.commit(mnt, BuildId.of("second-layer"));
        manager.unmountTemplate(mnt);

        manager.mountTemplate(TEMPLATE, second.build(), mnt, MountOptions.defaults().withReadOnly(true));
        try {
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(expected));
        } finally {
            manager.unmountTemplate(mnt);
        }
        BuildReport report = BuildReport.of(store, second.build());
        assertThat(report.generation()).isEqualTo(2);
        assertThat(report.parent()).isEqualTo(first.build());
        assertThat(report.layers()).extracting(BuildReport.Layer::build).contains(base, first.build(), second.build());
        assertThat(store.metadata(second.build()).orElseThrow().templateId()).isEqualTo(TEMPLATE);
    }

    @Test
    void commitRoundTrip_checksumsMatch_theParentIsUntouched_andE2fsckFindsItClean() throws IOException {
        String parentBefore = Trees.sha256(dir.resolve("store/" + base + "/rootfs.ext4"));
        Path mnt = dir.resolve("mnt");
        manager.mountTemplate(TEMPLATE, base, mnt, MountOptions.defaults());
        change(mnt, 1);
        CommitResult commit = manager.commit(mnt, null);
        // the mount stays usable, keeps its changes and can take more
        assertThat(mnt.resolve("etc/hostname")).hasContent("changed in round 1");
        Files.writeString(mnt.resolve("after-commit.txt"), "still writable");
        manager.unmountTemplate(mnt);

        assertThat(Trees.sha256(dir.resolve("store/" + base + "/rootfs.ext4"))).isEqualTo(parentBefore);
        // a base build has a header of its own, as e2b writes one: version 3, generation 0, itself throughout
        assertThat(BuildReport.of(store, base).generation()).isZero();
        assertThat(BuildReport.of(store, base).headerVersion()).isEqualTo(3);
        assertThat(dir.resolve("store/" + commit.build() + "/rootfs.ext4.header")).exists();
        assertThat(Files.size(dir.resolve("store/" + commit.build() + "/rootfs.ext4"))).isEqualTo(commit.ownBytes())
                .isLessThan(8L << 20);

        // the committed device, composed into one raw image, is a clean ext4 filesystem
        Path composed = RawImages.write(manager.images().open(manager.images().layout(commit.build())),
                dir.resolve("composed.img"));
        Run.ok(HostTool.require("e2fsck", "e2fsprogs").toString(), "-fn", composed.toString());
        assertThat(Run.ok("debugfs", "-R", "cat /etc/hostname", composed.toString()).stdout()).isEqualTo("changed in round 1\n");

        manager.mountTemplate(TEMPLATE, commit.build(), mnt, MountOptions.defaults().withReadOnly(true));
        try {
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(expected)); // without the post-commit write
        } finally {
            manager.unmountTemplate(mnt);
        }
    }

    @Test
    void commitRefusals_andTheNothingChangedNotice() throws IOException {
        Path rw = dir.resolve("rw");
        Path ro = dir.resolve("ro");
        Path qemu = dir.resolve("qemu");
        manager.mountTemplate(TEMPLATE, base, rw, MountOptions.defaults());
        manager.mountTemplate(TEMPLATE, base, ro, MountOptions.defaults().withReadOnly(true));
        manager.mountTemplate(TEMPLATE, base, qemu, MountOptions.defaults().withEngine(Engine.QEMU_NBD));
        try {
            assertThatThrownBy(() -> manager.commit(ro, null)).isInstanceOf(TmountException.class)
                    .hasMessageContaining("is mounted read-only: it has no changes to commit");
            assertThatThrownBy(() -> manager.commit(qemu, null)).hasMessageContaining("qemu-nbd engine");
            assertThatThrownBy(() -> manager.commit(rw, base)).hasMessageContaining("build '" + base + "' already exists")
                    .satisfies(e -> assertThat(((TmountException) e).kind()).isEqualTo(TmountException.Kind.CONFLICT));
            assertThatThrownBy(() -> manager.commit(dir.resolve("nowhere"), null)).hasMessageContaining("nothing is mounted");

            CommitResult nothing = manager.commit(rw, null);
            assertThat(nothing.changed()).isFalse();
            assertThat(nothing.build()).isNull();
            Files.writeString(rw.resolve("new.txt"), "a change");
            CommitResult something = manager.commit(rw, null);
            assertThat(something.changed()).isTrue();
            assertThat(manager.commit(rw, null).changed()).isFalse(); // nothing since the last commit
            assertThat(store.list()).hasSize(2);
        } finally {
            manager.unmountAll();
        }
    }

    @Test
    void aFailedCommit_leavesTheChangesToCommit() throws IOException {
        Path rw = dir.resolve("rw");
        manager.mountTemplate(TEMPLATE, base, rw, MountOptions.defaults());
        try {
            Files.writeString(rw.resolve("new.txt"), "a change");
            Path blocker = dir.resolve("store/blocked"); // a file where the new build's folder must go
            Files.writeString(blocker, "");
            assertThatThrownBy(() -> manager.commit(rw, BuildId.of("blocked"))).isInstanceOf(TmountException.class)
                    .hasMessageContaining("cannot store build 'blocked'");
            Files.delete(blocker);
            CommitResult retried = manager.commit(rw, BuildId.of("blocked")); // a still-frozen filesystem would refuse
            assertThat(retried.changed()).isTrue();
            Files.writeString(rw.resolve("more.txt"), "writable");
            manager.unmountTemplate(rw);
            manager.mountTemplate(TEMPLATE, retried.build(), rw, MountOptions.defaults().withReadOnly(true));
            assertThat(rw.resolve("new.txt")).hasContent("a change");
        } finally {
            manager.unmountAll();
        }
    }

    @Test
    void writableMountsOfOneBuild_shareOneCache_butNotTheirChanges() throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        manager.mountTemplate(TEMPLATE, base, a, MountOptions.defaults());
        manager.mountTemplate(TEMPLATE, base, b, MountOptions.defaults());
        try {
            assertThat(Trees.checksums(a)).isEqualTo(Trees.checksums(b));
            long fetchedAfterBoth = fetched(base);
            assertThat(fetchedAfterBoth).isLessThan(store.info(TemplateStore.rootfsKey(base)).orElseThrow().size()); // lazily, not the whole image
            Trees.checksums(a);
            Trees.checksums(b);
            assertThat(fetched(base)).isEqualTo(fetchedAfterBoth); // the second reader hit the shared cache
            Files.writeString(a.resolve("only-in-a.txt"), "a");
            assertThat(b.resolve("only-in-a.txt")).doesNotExist();
            assertThat(manager.listMounts()).extracting(MountInfo::overlayPath).doesNotHaveDuplicates();
        } finally {
            manager.unmountAll();
        }
    }

    private long fetched(BuildId build) {
        return manager.cacheReport().objects().stream().filter(o -> o.object().startsWith(build.value()))
                .mapToLong(CacheStats::fetchedBytes).sum();
    }

    private static void writeDurably(Path file, String text) throws IOException {
        Files.writeString(file, text);
        try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            channel.force(true);
        }
    }

    /** Makes the ext4 at {@code mnt} meet an error, as an aborted journal on a full disk does (ext4's test hook). */
    private static void failFilesystem(Path mnt) throws IOException {
        String device = io.tmount.os.MountTable.ofThisProcess().mountAt(mnt).orElseThrow().source();
        Files.writeString(Path.of("/sys/fs/ext4", Path.of(device).getFileName().toString(), "trigger_fs_error"),
                "issue 12 D13 test");
        assertThat(io.tmount.os.MountTable.ofThisProcess().mountAt(mnt).orElseThrow().wentReadOnly()).isTrue();
    }

    @Test
    void aMountGoneReadOnlyAfterAnError_isStillCommitted_atBlockLevel_withAWarning() throws IOException {
        // issue 12 D13: commit failed ("sync: Read-only file system") and unmount was the only way out, dropping it
        Path mnt = dir.resolve("mnt");
        manager.mountTemplate(TEMPLATE, base, mnt, MountOptions.defaults());
        writeDurably(mnt.resolve("etc/saved.txt"), "fsynced before the error\n");
        failFilesystem(mnt);
        assertThatThrownBy(() -> Files.writeString(mnt.resolve("late.txt"), "x"))
                .hasMessageContaining("Read-only file system");
        assertThat(manager.listMounts()).singleElement().extracting(MountInfo::problem).asString()
                .contains("went read-only after an error");

        CommitResult result = manager.commit(mnt, BuildId.of("after-error"));
        assertThat(result.changed()).isTrue();
        assertThat(result.warning()).contains("went read-only after a filesystem error")
                .contains("tmount verify base after-error --fsck");
        manager.unmountTemplate(mnt);

        // the fsynced write is in the committed journal: a writable mount replays it
        Path check = dir.resolve("check");
        manager.mountTemplate(TEMPLATE, BuildId.of("after-error"), check, MountOptions.defaults());
        assertThat(check.resolve("etc/saved.txt")).hasContent("fsynced before the error\n");
        manager.unmountTemplate(check);
    }

    @Test
    void unmountingAMountGoneReadOnly_withUncommittedChanges_keepsItsOverlay() throws IOException {
        Path mnt = dir.resolve("mnt");
        MountInfo info = manager.mountTemplate(TEMPLATE, base, mnt, MountOptions.defaults());
        writeDurably(mnt.resolve("etc/saved.txt"), "kept for the operator\n");
        failFilesystem(mnt);
        java.util.Optional<Path> kept = manager.unmountTemplate(mnt);
        assertThat(kept).contains(dir.resolve("state/orphans").resolve(info.id()));
        assertThat(kept.get().resolve("overlay/overlay.data")).isRegularFile();
        assertThat(kept.get().resolve("journal.json")).isRegularFile();
        assertThat(manager.listMounts()).isEmpty();
        assertThat(dir.resolve("state/mounts").resolve(info.id())).doesNotExist();

        // a healthy mount's uncommitted changes are discarded, as the seed says
        manager.mountTemplate(TEMPLATE, base, mnt, MountOptions.defaults());
        Files.writeString(mnt.resolve("etc/dropped.txt"), "x");
        assertThat(manager.unmountTemplate(mnt)).isEmpty();
    }
}
