package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/**
 * A process that owns mounts and then gets killed (by {@link MountRecoveryTest}): it mounts a build writable with
 * each engine, writes a file into each and makes it durable with fsync, mounts it once more as an ephemeral mount (as
 * template builds do), says READY, and waits for SIGKILL.
 * Arguments: stateDir runtimeDir storeDir template build builtinMountPath qemuMountPath ephemeralMountPath.
 */
public final class CrashingOwner {

    public static void main(String[] args) throws Exception {
        TemplateStore store = new TemplateStore(new StoreLocation.Local(Path.of(args[2])).open());
        MountManager manager = MountManager.open(new MountManagerConfig(Path.of(args[0]), Path.of(args[1]), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)));
        TemplateId template = TemplateId.of(args[3]);
        BuildId build = BuildId.of(args[4]);
        for (int i = 5; i <= 6; i++) {
            Path mnt = Path.of(args[i]);
            Engine engine = i == 5 ? Engine.BUILTIN : Engine.QEMU_NBD;
            manager.mountTemplate(template, build, mnt, MountOptions.defaults().withEngine(engine));
            Path file = mnt.resolve("acknowledged.txt");
            Files.writeString(file, "written by " + engine + " before the crash\n");
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.force(true); // ext4 commits and flushes the device: the write is durable
            }
        }
        Path userspace = Path.of(args[8]);
        manager.mountTemplate(template, build, userspace, MountOptions.defaults().withFs(FilesystemMode.USERSPACE));
        Path written = userspace.resolve("acknowledged.txt");
        Files.writeString(written, "written through fuse2fs before the crash\n");
        try (FileChannel channel = FileChannel.open(written, StandardOpenOption.WRITE)) {
            channel.force(true); // fuse2fs flushes its whole filesystem to the device on fsync
        }
        manager.mountTemplate(template, build, Path.of(args[7]), MountOptions.defaults().withEphemeral(true));
        Files.writeString(Path.of(args[7], "lost.txt"), "a build's write\n");
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
