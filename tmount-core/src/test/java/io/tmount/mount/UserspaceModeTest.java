package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.device.Attachers;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.Ext4Images;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The userspace filesystem mode: the build's ext4 read and written by a sandboxed fuse2fs, never by the host kernel.
 * Read-only and writable mounts read exactly, a commit stores what was written (read back by the kernel's driver),
 * fuse2fs runs without privilege in namespaces of its own, and the trust policy forces the mode.
 */
@ExtendWith(NoLeftovers.class)
class UserspaceModeTest {

    private static final TemplateId TEMPLATE = TemplateId.of("t");

    @TempDir
    Path dir;

    private MountManager open(TemplateStore store, TrustPolicy trust) {
        return MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)).withTrust(trust));
    }

    private BuildId importSample(TemplateStore store, Path source) throws Exception {
        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(source, 64L << 20, image);
        return new TemplateCatalog(store, dir.resolve("scratch")).importImage(TEMPLATE, null, image);
    }

    @Test
    void readOnlyAndWritableMounts_readExactly_commitWhatWasWritten_andRunFuse2fsWithoutPrivilege() throws Exception {
        Path source = Trees.sample(dir.resolve("src"), 7);
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
             MountManager manager = open(store, TrustPolicy.trustingAll())) {
            BuildId build = importSample(store, source);
            MountOptions userspace = MountOptions.defaults().withFs(FilesystemMode.USERSPACE);

            Path ro = dir.resolve("mnt/ro");
            MountInfo info = manager.mountTemplate(TEMPLATE, build, ro, userspace.withReadOnly(true));
            assertThat(info.fs()).isEqualTo(FilesystemMode.USERSPACE);
            assertThat(MountTable.ofThisProcess().mountAt(ro)).get()
                    .satisfies(m -> assertThat(m.fsType()).isEqualTo("fuse.fuse2fs"));
            assertThat(Trees.checksums(ro)).isEqualTo(Trees.checksums(source));
            assertThat(Files.isWritable(ro.resolve("lost+found"))).isFalse();
            manager.unmountTemplate(ro);

            Path rw = dir.resolve("mnt/rw");
            manager.mountTemplate(TEMPLATE, build, rw, userspace);
            ProcessHandle fuse2fs = fuse2fsProcesses().getFirst();
            Map<String, String> status = status(fuse2fs.pid());
            assertThat(status.get("Uid").split("\\s+")).allSatisfy(uid -> assertThat(Integer.parseInt(uid))
                    .isBetween(63_488, 65_519));
            assertThat(status.get("Groups")).isEmpty();
            assertThat(status.get("NoNewPrivs")).isEqualTo("1");
            assertThat(status.get("CapEff")).isEqualTo("0000000000000000");
            assertThat(status.get("CapBnd")).isEqualTo("0000000000000000");
            assertThat(status.get("Seccomp")).as("seccomp filter mode").isEqualTo("2");
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + fuse2fs.pid() + "/ns/net")))
                    .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/net")));
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + fuse2fs.pid() + "/ns/mnt")))
                    .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")));
            assertThat(Files.readSymbolicLink(Path.of("/proc/" + fuse2fs.pid() + "/ns/pid")))
                    .isNotEqualTo(Files.readSymbolicLink(Path.of("/proc/self/ns/pid")));
            // its root holds /usr (read-only) and nothing of the host's files or processes
            Path root = Path.of("/proc/" + fuse2fs.pid() + "/root");
            try (var etc = Files.list(root.resolve("etc"))) {
                assertThat(etc.map(p -> p.getFileName().toString())).isSubsetOf("ld.so.cache", "mtab");
            }
            assertThat(root.resolve("var")).doesNotExist();
            assertThat(root.resolve("home")).doesNotExist();
            try (var dev = Files.list(root.resolve("dev"))) {
                assertThat(dev.map(p -> p.getFileName().toString()))
                        .containsExactlyInAnyOrder("null", "zero", "urandom", "fuse", "image");
            }
            try (var processes = Files.list(root.resolve("proc"))) {
                assertThat(processes.filter(p -> p.getFileName().toString().matches("\\d+")).count())
                        .as("processes its /proc shows").isEqualTo(1);
            }

            Files.writeString(rw.resolve("added.txt"), "written through fuse2fs\n");
            Files.createDirectories(rw.resolve("new/dir"));
            Files.write(rw.resolve("new/dir/big.bin"), new byte[3 << 20]);
            Files.delete(rw.resolve(firstFile(source)));
            BuildId committed = BuildId.of(java.util.UUID.randomUUID().toString());
            manager.commit(rw, committed, TEMPLATE, false);
            // the filesystem is back in service after the commit, under a fuse2fs of its own
            assertThat(Files.readString(rw.resolve("added.txt"))).isEqualTo("written through fuse2fs\n");
            Files.writeString(rw.resolve("after-commit.txt"), "later");
            manager.unmountTemplate(rw);
            assertThat(fuse2fsProcesses()).isEmpty();

            Path check = dir.resolve("mnt/check");
            manager.mountTemplate(TEMPLATE, committed, check, MountOptions.defaults().withReadOnly(true)
                    .withFs(FilesystemMode.KERNEL).withFsck(true));
            assertThat(Files.readString(check.resolve("added.txt"))).isEqualTo("written through fuse2fs\n");
            assertThat(Files.size(check.resolve("new/dir/big.bin"))).isEqualTo(3 << 20);
            assertThat(check.resolve(firstFile(source))).doesNotExist();
            assertThat(check.resolve("after-commit.txt")).doesNotExist();
            manager.unmountTemplate(check);
        }
    }

    @Test
    void trustPolicy_forcesUserspaceForUntrustedTemplates_andFsckForCheckedOnes() throws Exception {
        Path source = Trees.sample(dir.resolve("src"), 8);
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open())) {
            BuildId build = importSample(store, source);
            TrustPolicy untrusted = new TrustPolicy(TrustPolicy.Trust.UNTRUSTED, Map.of());
            try (MountManager manager = open(store, untrusted)) {
                Path mnt = dir.resolve("mnt/a");
                assertThatThrownBy(() -> manager.mountTemplate(TEMPLATE, build, mnt,
                        MountOptions.defaults().withFs(FilesystemMode.KERNEL)))
                        .isInstanceOf(TmountException.class).hasMessageContaining("not trusted")
                        .satisfies(e -> assertThat(((TmountException) e).kind())
                                .isEqualTo(TmountException.Kind.FORBIDDEN));
                assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
                MountInfo info = manager.mountTemplate(TEMPLATE, build, mnt, MountOptions.defaults().withReadOnly(true));
                assertThat(info.fs()).isEqualTo(FilesystemMode.USERSPACE);
                assertThat(manager.listMounts()).singleElement()
                        .satisfies(m -> assertThat(m.fs()).isEqualTo(FilesystemMode.USERSPACE));
                manager.unmountTemplate(mnt);
            }
            // a trusted template's build made from an untrusted one holds the untrusted one's metadata: as untrusted
            TemplateId good = TemplateId.of("good");
            TrustPolicy onlyTIsUntrusted = new TrustPolicy(TrustPolicy.Trust.TRUSTED,
                    Map.of(TEMPLATE, TrustPolicy.Trust.UNTRUSTED));
            try (MountManager manager = open(store, onlyTIsUntrusted)) {
                Path rw = dir.resolve("mnt/rw");
                manager.mountTemplate(TEMPLATE, build, rw, MountOptions.defaults());
                Files.writeString(rw.resolve("laundered.txt"), "x");
                BuildId goodBuild = BuildId.of(java.util.UUID.randomUUID().toString());
                manager.commit(rw, goodBuild, good, false);
                manager.unmountTemplate(rw);
                Path mnt = dir.resolve("mnt/good");
                assertThatThrownBy(() -> manager.mountTemplate(good, goodBuild, mnt,
                        MountOptions.defaults().withReadOnly(true).withFs(FilesystemMode.KERNEL)))
                        .isInstanceOf(TmountException.class).hasMessageContaining("not trusted");
                assertThat(manager.mountTemplate(good, goodBuild, mnt, MountOptions.defaults().withReadOnly(true)).fs())
                        .isEqualTo(FilesystemMode.USERSPACE);
                assertThat(mnt.resolve("laundered.txt")).exists();
                manager.unmountTemplate(mnt);
            }
            TrustPolicy checked = new TrustPolicy(TrustPolicy.Trust.TRUSTED, Map.of(TEMPLATE, TrustPolicy.Trust.CHECKED));
            assertThat(checked.apply(TEMPLATE, MountOptions.defaults()).fsck()).isTrue();
            assertThat(checked.apply(TEMPLATE, MountOptions.defaults()).fs()).isEqualTo(FilesystemMode.KERNEL);
            assertThat(checked.apply(TemplateId.of("other"), MountOptions.defaults()).fsck()).isFalse();
            assertThat(checked.apply(TEMPLATE, MountOptions.defaults().withFs(FilesystemMode.USERSPACE)).fsck())
                    .isFalse();
        }
    }

    private static String firstFile(Path source) throws Exception {
        try (var files = Files.walk(source)) {
            return source.relativize(files.filter(Files::isRegularFile).sorted().findFirst().orElseThrow()).toString();
        }
    }

    static List<ProcessHandle> fuse2fsProcesses() {
        return ProcessHandle.allProcesses().filter(p -> p.info().command().map(c -> c.endsWith("/fuse2fs"))
                .orElse(false)).toList();
    }

    private static Map<String, String> status(long pid) throws Exception {
        Map<String, String> fields = new java.util.HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            int colon = line.indexOf(':');
            fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
        }
        return fields;
    }
}
