package io.tmount.mount;

import io.tmount.device.AttachedDevice;
import io.tmount.device.Attacher;
import io.tmount.device.QemuNbdServer;
import io.tmount.image.BuildImages;
import io.tmount.image.BuildLayout;
import io.tmount.image.LayeredImage;
import io.tmount.image.Overlay;
import io.tmount.nbd.NbdEndpoint;
import io.tmount.nbd.NbdListen;
import io.tmount.nbd.NbdServer;
import io.tmount.os.FilesystemMounter;
import io.tmount.os.Folders;
import io.tmount.serve.Served;
import io.tmount.serve.ServedImages;
import io.tmount.serve.Serving;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Wires one mount, in one place: store → chunk caches → layered image → overlay (writable mounts) → NBD server →
 * attached device → ext4 mount; or, for the seed's qemu-nbd engine, a full local copy served by qemu-nbd. Each part
 * is journaled as it is acquired and registered for release in reverse; on failure everything acquired so far is
 * released before the error leaves.
 */
final class MountAssembler {

    private static final Duration QEMU_NBD_READY = Duration.ofSeconds(15);

    private final ServedImages served;
    private final BuildImages images;
    private final MountJournal journal;
    private final FilesystemMounter filesystems;
    private final Path runtimeMounts;
    private final Checkpoints checkpoints;

    MountAssembler(ServedImages served, MountJournal journal, FilesystemMounter filesystems, Path runtimeMounts,
                   Checkpoints checkpoints) {
        this.served = served;
        this.images = served.images();
        this.journal = journal;
        this.filesystems = filesystems;
        this.runtimeMounts = runtimeMounts;
        this.checkpoints = checkpoints;
    }

    /**
     * Mounts a build at a path whose folders exist; {@code created} are those tmount made for it (removed again
     * when empty). A {@link MountOrigin.Restored} mount comes back after a crash and its overlay or local copy in the
     * state dir is reused; then a failure leaves the state dir and the journal entry (still marked mounted) alone, for
     * recovery to keep under orphans/ or to try again, since they hold writes the kernel was told are durable.
     */
    ActiveMount assemble(String id, TemplateId template, BuildId build, Path mountPath, MountOptions options,
                         Attacher attacher, List<Path> created, MountOrigin origin) throws IOException {
        boolean restoring = origin instanceof MountOrigin.Restored;
        Teardown bookkeeping = new Teardown();
        Teardown resources = new Teardown();
        try {
            bookkeeping.push("remove the mount folders tmount created", () -> MountPaths.removeCreated(created));
            BuildLayout layout = images.layout(build);
            Path stateDir = journal.dirOf(id);
            Path runtimeDir = runtimeMounts.resolve(id);
            Files.createDirectories(stateDir);
            Files.createDirectories(runtimeDir);
            if (!restoring) {
                bookkeeping.push("remove " + stateDir, () -> Folders.deleteTree(stateDir));
            }
            bookkeeping.push("remove " + runtimeDir, () -> Folders.deleteTree(runtimeDir));

            boolean fullCopy = options.engine() == Engine.QEMU_NBD;
            Path tempFile = fullCopy ? stateDir.resolve(TemplateStore.ROOTFS) : null;
            Path overlayDir = !fullCopy && !options.readOnly() ? stateDir.resolve("overlay") : null;
            MountInfo info = new MountInfo(id, template, build, mountPath, null, -1, tempFile, overlayDir,
                    options.readOnly(), attacher.backend(), options.engine(), Instant.now(), null);
            // a restored mount was handed out before: if this process dies mid-restore, the next start restores it
            JournalEntry entry = new JournalEntry(info, created, stateDir, runtimeDir, null, null, restoring,
                    options.ephemeral());
            journal.write(entry);
            if (!restoring) {
                bookkeeping.push("remove the journal entry", () -> journal.remove(id));
            }

            Path socket = runtimeDir.resolve("nbd.sock");
            NbdEndpoint endpoint;
            Overlay overlay = null;
            ActiveMount.Probe serverProbe = ActiveMount.Probe.NONE; // our own server lives and dies with this process
            if (fullCopy) {
                if (!restoring || !Files.exists(tempFile)) {
                    copyWhole(layout, tempFile);
                }
                QemuNbdServer server = QemuNbdServer.start(tempFile, socket, build.value(), options.readOnly(), QEMU_NBD_READY);
                resources.push("stop qemu-nbd", server::close);
                serverProbe = server::problem;
                entry = entry.withServerPid(server.pid());
                journal.write(entry);
                endpoint = server.endpoint();
            } else {
                String description = "template " + template + " build " + build;
                NbdListen listen = NbdListen.unix(socket);
                Served server = served.serve(layout, overlayDir == null
                        ? Serving.readOnly(build.value(), description, listen, NbdServer.Limits.DEFAULT)
                        : Serving.writable(build.value(), description, listen, NbdServer.Limits.DEFAULT, overlayDir));
                resources.push("stop the NBD server and close the image", server::close);
                overlay = server.overlay();
                endpoint = server.endpoint();
            }
            checkpoints.reached(Checkpoints.SERVING);

            AttachedDevice device = attacher.attach(endpoint, options.readOnly(), runtimeDir);
            resources.push("detach " + device.devicePath(), device::close);
            checkpoints.reached(Checkpoints.ATTACHED);
            entry = entry.withDevice(device.record());
            journal.write(entry);

            // registered first: a mount(8) that timed out may still have mounted, and a later failure must not
            // leave a filesystem on a device that is about to go
            resources.push("unmount " + mountPath, () -> filesystems.unmountIfFrom(mountPath, device.devicePath()));
            filesystems.mount(device.devicePath(), mountPath, options.readOnly());
            info = info.withDevice(device.devicePath(), device.slot(), endpoint.uri());
            checkpoints.reached(Checkpoints.MOUNTED);
            journal.write(entry.withMounted(info));
            ActiveMount.Probe server = serverProbe;
            ActiveMount.Probe probe = () -> server.problem().or(device::problem);
            if (!restoring) {
                return new ActiveMount(info, layout, overlay, created, resources, bookkeeping, probe);
            }
            // back in service: from now on it goes like any mount, its state and journal entry with it
            bookkeeping.push("remove " + stateDir, () -> Folders.deleteTree(stateDir));
            bookkeeping.push("remove the journal entry", () -> journal.remove(id));
            return ActiveMount.restored(info, layout, overlay, created, resources, bookkeeping, probe);
        } catch (IOException | RuntimeException e) {
            new ActiveMount(null, null, null, created, resources, bookkeeping, ActiveMount.Probe.NONE).releaseOnto(e);
            throw e;
        }
    }

    /** The seed's way: the whole build in one local file (for a layered build, its layers composed). */
    private void copyWhole(BuildLayout layout, Path target) throws IOException {
        if (layout.headerless()) {
            images.store().objects().download(TemplateStore.rootfsKey(layout.build()), target);
            return;
        }
        LayeredImage image = images.open(layout);
        ByteBuffer buffer = ByteBuffer.allocateDirect(4 << 20);
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long pos = 0; pos < image.size(); ) {
                buffer.clear().limit((int) Math.min(buffer.capacity(), image.size() - pos));
                image.read(buffer, pos);
                buffer.flip();
                while (buffer.hasRemaining()) {
                    pos += out.write(buffer, pos);
                }
            }
        }
    }
}
