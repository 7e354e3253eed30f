package io.tmount.mount;

import io.tmount.device.NbdDevicePool;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

/** The daemon that {@link GuestKernelNbdChecks} kills: mounts with kernel-nbd, writes durably, says READY, waits. */
public final class GuestDaemonChild {

    public static void main(String[] args) throws Exception {
        TemplateStore store = new TemplateStore(new StoreLocation.Local(Path.of(args[0])).open());
        MountManager manager = MountManager.open(GuestKernelNbdChecks.config(store,
                NbdDevicePool.onThisHost(2, Duration.ofSeconds(2))));
        Path mnt = Path.of("/mnt/vm/killed");
        manager.mountTemplate(TemplateId.of(args[1]), BuildId.of(args[2]), mnt, MountOptions.defaults());
        Path file = mnt.resolve("before-the-kill.txt");
        Files.writeString(file, "durable\n");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
