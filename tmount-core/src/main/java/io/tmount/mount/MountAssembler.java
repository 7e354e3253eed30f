package io.tmount.mount;

import io.tmount.device.AttachedDevice;
import io.tmount.device.Attacher;
import io.tmount.device.QemuNbdServer;
import io.tmount.image.FileImage;
import io.tmount.nbd.NbdEndpoint;
import io.tmount.nbd.NbdExport;
import io.tmount.nbd.NbdListen;
import io.tmount.nbd.NbdServer;
import io.tmount.os.Folders;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Wires one mount, in one place: store → local copy → NBD server (built-in or qemu-nbd) → attached device →
 * ext4 mount. Each part is journaled as it is acquired and registered for release in reverse; on failure
 * everything acquired so far is released before the error leaves.
 */
final class MountAssembler {

    private static final Duration QEMU_NBD_READY = Duration.ofSeconds(15);

    private final TemplateStore store;
    private final MountJournal journal;
    private final FilesystemMounter filesystems;
    private final Path runtimeMounts;

    MountAssembler(TemplateStore store, MountJournal journal, FilesystemMounter filesystems, Path runtimeMounts) {
        this.store = store;
        this.journal = journal;
        this.filesystems = filesystems;
        this.runtimeMounts = runtimeMounts;
    }

    ActiveMount assemble(String id, TemplateId template, BuildId build, Path mountPath, MountOptions options,
                         Attacher attacher) throws IOException {
        Teardown bookkeeping = new Teardown();
        Teardown resources = new Teardown();
        try {
            List<Path> created = MountPaths.createMissing(mountPath);
            bookkeeping.push("remove the mount folders tmount created", () -> MountPaths.removeCreated(created));
            Path stateDir = journal.dirOf(id);
            Path runtimeDir = runtimeMounts.resolve(id);
            Files.createDirectories(stateDir);
            Files.createDirectories(runtimeDir);
            bookkeeping.push("remove " + stateDir, () -> Folders.deleteTree(stateDir));
            bookkeeping.push("remove " + runtimeDir, () -> Folders.deleteTree(runtimeDir));

            Path tempFile = stateDir.resolve(TemplateStore.ROOTFS);
            MountInfo info = new MountInfo(id, template, build, mountPath, null, -1, tempFile,
                    options.readOnly(), attacher.backend(), options.engine(), Instant.now(), null);
            JournalEntry entry = new JournalEntry(info, created, stateDir, runtimeDir, null, null, false);
            journal.write(entry);
            bookkeeping.push("remove the journal entry", () -> journal.remove(id));

            store.downloadRootfs(build, tempFile);

            Path socket = runtimeDir.resolve("nbd.sock");
            NbdEndpoint endpoint;
            if (options.engine() == Engine.QEMU_NBD) {
                QemuNbdServer server = QemuNbdServer.start(tempFile, socket, build.value(), options.readOnly(), QEMU_NBD_READY);
                resources.push("stop qemu-nbd", server::close);
                entry = entry.withServerPid(server.pid());
                journal.write(entry);
                endpoint = server.endpoint();
            } else {
                FileImage image = FileImage.open(tempFile, options.readOnly());
                resources.push("close the image", image::close);
                NbdServer server = NbdServer.start(NbdListen.unix(socket),
                        new NbdExport(build.value(), "template " + template + " build " + build, image, options.readOnly()));
                resources.push("stop the NBD server", server::close);
                endpoint = server.endpoint();
            }

            AttachedDevice device = attacher.attach(endpoint, options.readOnly(), runtimeDir);
            resources.push("detach " + device.devicePath(), device::close);
            entry = entry.withDevice(device.record());
            journal.write(entry);

            filesystems.mount(device.devicePath(), mountPath, options.readOnly());
            info = new MountInfo(id, template, build, mountPath, device.devicePath(), device.slot(), tempFile,
                    options.readOnly(), attacher.backend(), options.engine(), info.createdAt(), endpoint.uri());
            journal.write(entry.withMounted(info));
            return new ActiveMount(info, resources, bookkeeping);
        } catch (IOException | RuntimeException e) {
            new ActiveMount(null, resources, bookkeeping).releaseOnto(e);
            throw e;
        }
    }
}
