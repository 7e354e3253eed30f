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
import io.tmount.testing.HostState;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Builds whose ext4 was damaged before it was stored (a tenant's filesystem committed back): the superblock, the
 * group descriptors, the root's inode and directory block, the journal, random metadata blocks. Each is mounted
 * read-only and writable, and read through: the mount or the reads fail, never the manager; nothing of a failed
 * mount is left, every mount that was made unmounts, and a sound build mounts and reads exactly afterwards.
 */
@ExtendWith(NoLeftovers.class)
class CorruptImagesTest {

    private static final TemplateId TEMPLATE = TemplateId.of("t");

    @TempDir
    Path dir;

    /** A folder's files as a sound build and as one build per damage, in a local store. */
    private record Damaged(Path source, BuildId sound, Map<String, BuildId> builds) {
    }

    private Damaged damagedBuilds(TemplateStore store, Path storeDir) throws IOException {
        return damagedBuilds(store, storeDir, 3);
    }

    private Damaged damagedBuilds(TemplateStore store, Path storeDir, int randomSeeds) throws IOException {
        Path source = Trees.sample(dir.resolve("src"), 3);
        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(source, 32L << 20, image);
        TemplateCatalog catalog = new TemplateCatalog(store, dir.resolve("scratch"));
        BuildId sound = catalog.importImage(TEMPLATE, null, image);
        Map<String, BuildId> builds = new LinkedHashMap<>();
        // damaged before it is imported, as a tenant's committed filesystem would be: the build's digest list matches
        // its hostile bytes (damage done in the store after the fact is caught on read: IntegrityTest)
        Path damagedImage = dir.resolve("damaged.ext4");
        for (var damage : damages(image, randomSeeds).entrySet()) {
            Files.copy(image, damagedImage, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            damage.getValue().apply(damagedImage);
            BuildId build = BuildId.random(); // stored as a commit would store it: import refuses what is not ext4
            new io.tmount.image.BuildWriter(store, dir.resolve("scratch")).writeBase(
                    io.tmount.store.BuildMetadata.forNewBuild(build, TEMPLATE, null, Files.size(damagedImage),
                            java.time.Instant.now()), damagedImage, io.tmount.image.WriteFormat.DEFAULT);
            builds.put(damage.getKey(), build);
        }
        return new Damaged(source, sound, builds);
    }

    private void assertTheSoundBuildReadsExactly(MountManager manager, Damaged damaged, MountOptions options)
            throws IOException {
        Path check = dir.resolve("mnt/sound");
        manager.mountTemplate(TEMPLATE, damaged.sound(), check, options);
        assertThat(Trees.checksums(check)).isEqualTo(Trees.checksums(damaged.source()));
        manager.unmountTemplate(check);
    }

    private MountManager openManager(TemplateStore store) {
        return MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)));
    }

    @Test
    void damagedBuilds_failTheMountOrTheRead_neverTheManager() throws Exception {
        Path storeDir = dir.resolve("store");
        List<String> outcomes = new ArrayList<>();
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open())) {
            Damaged damaged = damagedBuilds(store, storeDir);
            try (MountManager manager = openManager(store)) {
                int n = 0;
                for (var entry : damaged.builds().entrySet()) {
                    for (boolean readOnly : List.of(true, false)) {
                        Path mnt = dir.resolve("mnt/" + n++);
                        outcomes.add(entry.getKey() + (readOnly ? " ro: " : " rw: ")
                                + tryMount(manager, entry.getValue(), mnt, readOnly));
                        assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
                        assertThat(manager.listMounts()).isEmpty();
                    }
                }
                assertTheSoundBuildReadsExactly(manager, damaged, MountOptions.defaults().withReadOnly(true));
            }
        }
        System.out.println("corrupt images:\n  " + String.join("\n  ", outcomes));
        assertThat(outcomes).anyMatch(o -> o.contains("mount refused")); // the damage was real
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    @Test
    void withFsck_damagedMetadataIsRefusedBeforeTheKernelMountsIt_andASoundBuildMounts() throws Exception {
        Path storeDir = dir.resolve("store");
        Map<String, String> outcomes = new LinkedHashMap<>();
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open())) {
            Damaged damaged = damagedBuilds(store, storeDir);
            try (MountManager manager = openManager(store)) {
                int n = 0;
                for (var damage : damaged.builds().entrySet()) {
                    Path mnt = dir.resolve("mnt/" + n++);
                    try {
                        manager.mountTemplate(TEMPLATE, damage.getValue(), mnt, MountOptions.defaults().withFsck(true));
                        outcomes.put(damage.getKey(), "mounted");
                        manager.unmountTemplate(mnt);
                    } catch (TmountException e) {
                        outcomes.put(damage.getKey(), e.getMessage());
                    }
                    assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
                    assertThat(manager.listMounts()).isEmpty();
                }
                assertTheSoundBuildReadsExactly(manager, damaged, MountOptions.defaults().withFsck(true));
            }
        }
        outcomes.forEach((damage, outcome) -> System.out.println("fsck, " + damage + ": "
                + outcome.lines().findFirst().orElse("")));
        for (String structural : List.of("superblock magic", "superblock counts", "group descriptors", "root inode",
                "root directory block", "journal superblock")) {
            assertThat(outcomes.get(structural)).as(structural)
                    .contains("has filesystem errors (e2fsck -fn exited with").contains("so it is not mounted");
        }
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    @Test
    void inUserspaceMode_theHostKernelNeverParsesADamagedImage_andReadersGetErrors() throws Exception {
        Path storeDir = dir.resolve("store");
        List<String> outcomes = new ArrayList<>();
        java.util.Set<String> ext4Before = kernelExt4Lines();
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open())) {
            Damaged damaged = damagedBuilds(store, storeDir, 12);
            MountOptions userspace = MountOptions.defaults().withFs(FilesystemMode.USERSPACE);
            try (MountManager manager = openManager(store)) {
                int n = 0;
                for (var entry : damaged.builds().entrySet()) {
                    for (boolean readOnly : List.of(true, false)) {
                        Path mnt = dir.resolve("mnt/" + n++);
                        outcomes.add(entry.getKey() + (readOnly ? " ro: " : " rw: ")
                                + tryMount(manager, entry.getValue(), mnt, userspace.withReadOnly(readOnly)));
                        assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
                        assertThat(manager.listMounts()).isEmpty();
                        assertThat(UserspaceModeTest.fuse2fsProcesses()).isEmpty();
                    }
                }
                assertTheSoundBuildReadsExactly(manager, damaged, userspace.withReadOnly(true));
            }
        }
        System.out.println("corrupt images, userspace mode:\n  " + String.join("\n  ", outcomes));
        assertThat(outcomes).anyMatch(o -> o.contains("mount refused")); // the damage was real
        assertThat(outcomes).anyMatch(o -> o.contains("failures") && !o.contains(" 0 failures"));
        // nothing of the host kernel's ext4 ran on these images: it logged nothing at all
        java.util.Set<String> ext4New = kernelExt4Lines();
        ext4New.removeAll(ext4Before);
        assertThat(ext4New).isEmpty();
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    /** The lines of the kernel log that come from its ext4 driver (each with its time stamp). */
    private static java.util.Set<String> kernelExt4Lines() {
        return Run.ok("dmesg").stdout().lines().filter(l -> l.contains("EXT4-fs"))
                .collect(java.util.stream.Collectors.toCollection(java.util.HashSet::new));
    }

    /** Mounts, reads every file (errors allowed), unmounts; says what happened. */
    private static String tryMount(MountManager manager, BuildId build, Path mnt, boolean readOnly) {
        return tryMount(manager, build, mnt, MountOptions.defaults().withReadOnly(readOnly));
    }

    private static String tryMount(MountManager manager, BuildId build, Path mnt, MountOptions options) {
        boolean readOnly = options.readOnly();
        try {
            manager.mountTemplate(TEMPLATE, build, mnt, options);
        } catch (TmountException e) {
            return "mount refused (" + e.getMessage().lines().findFirst().orElse("") + ")";
        }
        int read = 0;
        int failed = 0;
        try (Stream<Path> files = Files.walk(mnt)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                try {
                    Files.readAllBytes(file);
                    read++;
                } catch (IOException e) {
                    failed++;
                }
            }
        } catch (IOException | UncheckedIOException e) {
            failed++;
        }
        if (!readOnly) {
            try {
                Files.writeString(mnt.resolve("written.txt"), "x");
            } catch (IOException e) {
                failed++;
            }
        }
        manager.unmountTemplate(mnt); // must work whatever the filesystem thinks of itself
        return "mounted, " + read + " files read, " + failed + " failures, unmounted";
    }

    @FunctionalInterface
    private interface Damage {
        void apply(Path image) throws IOException;
    }

    private static Map<String, Damage> damages(Path image, int randomSeeds) throws IOException {
        int blockSize = Integer.parseInt(debugfs(image, "stats", "Block size:\\s+(\\d+)"));
        long rootBlock = Long.parseLong(debugfs(image, "blocks /", "^(\\d+)"));
        Matcher inode = Pattern.compile("located at block (\\d+), offset 0x([0-9a-f]+)")
                .matcher(Run.ok("debugfs", "-R", "imap <2>", image.toString()).stdout());
        assertThat(inode.find()).isTrue();
        long rootInode = Long.parseLong(inode.group(1)) * blockSize + Long.parseLong(inode.group(2), 16);
        long journal = Long.parseLong(debugfs(image, "blocks <8>", "^(\\d+)")) * blockSize;
        Map<String, Damage> damages = new LinkedHashMap<>();
        damages.put("superblock magic", f -> write(f, 1024 + 56, new byte[2]));
        damages.put("superblock counts", f -> write(f, 1024, noise(1, 64)));
        damages.put("group descriptors", f -> write(f, blockSize == 1024 ? 2048 : blockSize, noise(2, 256)));
        damages.put("root inode", f -> write(f, rootInode, noise(3, 256)));
        damages.put("root directory block", f -> write(f, rootBlock * blockSize, noise(4, blockSize)));
        damages.put("journal superblock", f -> write(f, journal, noise(5, 1024)));
        Matcher table = Pattern.compile("located at block (\\d+)")
                .matcher(Run.ok("debugfs", "-R", "imap <12>", image.toString()).stdout());
        assertThat(table.find()).isTrue();
        long inodeTable = Long.parseLong(table.group(1)) * blockSize;
        damages.put("inode table", f -> write(f, inodeTable, noise(6, 4 * blockSize)));
        for (int seed = 0; seed < randomSeeds; seed++) {
            int s = seed;
            damages.put("8 random blocks of the first 4 MiB, seed " + seed, f -> {
                Random random = new Random(s);
                for (int i = 0; i < 8; i++) {
                    write(f, (long) random.nextInt((4 << 20) / 4096) * 4096, noise(100 + i + 10L * s, 4096));
                }
            });
        }
        return damages;
    }

    private static String debugfs(Path image, String request, String pattern) {
        Matcher m = Pattern.compile(pattern, Pattern.MULTILINE)
                .matcher(Run.ok("debugfs", "-R", request, image.toString()).stdout().strip());
        assertThat(m.find()).as("debugfs %s", request).isTrue();
        return m.group(1);
    }

    private static byte[] noise(long seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static void write(Path file, long offset, byte[] bytes) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.seek(offset);
            raf.write(bytes);
        }
    }
}
