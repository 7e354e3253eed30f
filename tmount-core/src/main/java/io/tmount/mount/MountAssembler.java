package io.tmount.mount;

import io.tmount.TmountException;
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
import io.tmount.os.Ext4Check;
import io.tmount.os.Folders;
import io.tmount.serve.Served;
import io.tmount.serve.ServedImages;
import io.tmount.serve.Serving;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
    private static final Duration FSCK_TIMEOUT = Duration.ofMinutes(30);
    private static final Logger log = LoggerFactory.getLogger(MountAssembler.class);

    private final ServedImages served;
    private final BuildImages images;
    private final MountJournal journal;
    private final MountFilesystems filesystems;
    private final Path runtimeMounts;
    private final Checkpoints checkpoints;

    MountAssembler(ServedImages served, MountJournal journal, MountFilesystems filesystems, Path runtimeMounts,
                   Checkpoints checkpoints) {
        this.served = served;
        this.images = served.images();
        this.journal = journal;
        this.filesystems = filesystems;
        this.runtimeMounts = runtimeMounts;
        this.checkpoints = checkpoints;
    }

    /** A mount's NBD server, whichever engine runs it, and what it adds to the mount. */
    private record Server(NbdEndpoint endpoint, Overlay overlay, ActiveMount.Probe probe, JournalEntry entry) {
    }

    /**
     * Mounts a build at a path whose folders exist; {@code created} are those tmount made for it (removed again
     * when empty). A {@link MountOrigin.Restored} mount comes back after a crash and its overlay or local copy in the
     * state dir is reused; then a failure leaves the state dir and the journal entry (still marked mounted) alone, for
     * recovery to keep under orphans/ or to try again, since they hold writes the kernel was told are durable.
     */
    ActiveMount assemble(String id, TemplateId template, BuildId build, Path mountPath, MountOptions options,
                         Attacher attacher, List<Path> created, MountOrigin origin) throws IOException {
        Teardown bookkeeping = new Teardown();
        Teardown resources = new Teardown();
        try {
            bookkeeping.push("remove the mount folders tmount created", () -> MountPaths.removeCreated(created));
            BuildLayout layout = images.layout(build);
            Path stateDir = journal.dirOf(id);
            Path runtimeDir = runtimeMounts.resolve(id);
            Files.createDirectories(stateDir);
            Files.createDirectories(runtimeDir);
            if (origin instanceof MountOrigin.Fresh) {
                bookkeeping.push("remove " + stateDir, () -> Folders.deleteTree(stateDir));
            }
            bookkeeping.push("remove " + runtimeDir, () -> Folders.deleteTree(runtimeDir));

            MountInfo info = new MountInfo(id, template, build, mountPath, null, -1, localCopy(options, stateDir),
                    overlayDir(options, stateDir), options.readOnly(), attacher.backend(), options.engine(),
                    options.fs(), Instant.now(), null);
            // a restored mount was handed out before: if this process dies mid-restore, the next start restores it
            JournalEntry entry = new JournalEntry(info, created, stateDir, runtimeDir, null, null,
                    origin instanceof MountOrigin.Restored, options.ephemeral());
            journal.write(entry);
            if (origin instanceof MountOrigin.Fresh) {
                bookkeeping.push("remove the journal entry", () -> journal.remove(id));
            }

            Server server = switch (options.engine()) {
                case BUILTIN -> serveStreamed(info, layout, runtimeDir, resources, entry);
                case QEMU_NBD -> serveLocalCopy(info, layout, runtimeDir, resources, entry, origin);
            };
            checkpoints.reached(Checkpoints.SERVING);

            AttachedDevice device = attacher.attach(server.endpoint(), options.readOnly(), runtimeDir);
            resources.push("detach " + device.devicePath(), device::close);
            checkpoints.reached(Checkpoints.ATTACHED);
            entry = server.entry().withDevice(device.record());
            journal.write(entry);
            if (options.fsck()) {
                refuseIfDamaged(device.devicePath(), template, build);
            }

            // registered first: a mount(8) that timed out may still have mounted, and a later failure must not
            // leave a filesystem on a device that is about to go
            MountInfo mounting = info;
            resources.push("unmount " + mountPath, () -> filesystems.unmountIfFrom(mounting, device.devicePath()));
            filesystems.mount(info, device.devicePath());
            info = info.withDevice(device.devicePath(), device.slot(), server.endpoint().uri());
            checkpoints.reached(Checkpoints.MOUNTED);
            journal.write(entry.withMounted(info));
            MountInfo mounted = info;
            ActiveMount.Probe probe = () -> server.probe().problem().or(device::problem)
                    .or(() -> filesystems.problem(mounted));
            return switch (origin) {
                case MountOrigin.Fresh fresh ->
                        new ActiveMount(info, layout, server.overlay(), created, resources, bookkeeping, probe);
                case MountOrigin.Restored restored -> {
                    // back in service: from now on it goes like any mount, its state and journal entry with it
                    bookkeeping.push("remove " + stateDir, () -> Folders.deleteTree(stateDir));
                    bookkeeping.push("remove the journal entry", () -> journal.remove(id));
                    yield ActiveMount.restored(info, layout, server.overlay(), created, resources, bookkeeping, probe);
                }
            };
        } catch (IOException | RuntimeException e) {
            new ActiveMount(null, null, null, created, resources, bookkeeping, ActiveMount.Probe.NONE).releaseOnto(e);
            throw e;
        }
    }

    /** {@code e2fsck -fn} on the attached device, before the kernel parses the filesystem: errors refuse the mount. */
    private static void refuseIfDamaged(Path device, TemplateId template, BuildId build) throws IOException {
        Ext4Check.Result check = Ext4Check.run(device, FSCK_TIMEOUT, "mount --fsck");
        if (!check.clean()) {
            throw new TmountException(TmountException.Kind.FAILED, "template " + template + " build " + build
                    + " has filesystem errors (e2fsck -fn exited with " + check.exitCode() + "), so it is not mounted: "
                    + check.output());
        }
        log.info("e2fsck -fn found template {} build {} clean on {}", template, build, device);
    }

    /** The seed's qemu-nbd engine keeps a full local copy of the build in the mount's state dir. */
    private static Path localCopy(MountOptions options, Path stateDir) {
        return options.engine() == Engine.QEMU_NBD ? stateDir.resolve(TemplateStore.ROOTFS) : null;
    }

    /** A writable mount of the builtin engine keeps its writes in an overlay in its state dir. */
    private static Path overlayDir(MountOptions options, Path stateDir) {
        return options.engine() == Engine.BUILTIN && !options.readOnly() ? stateDir.resolve("overlay") : null;
    }

    /** tmount's own NBD server, streaming the build through the shared chunk caches (and an overlay if writable). */
    private Server serveStreamed(MountInfo info, BuildLayout layout, Path runtimeDir, Teardown resources,
                                 JournalEntry entry) throws IOException {
        String description = "template " + info.templateId() + " build " + info.buildId();
        NbdListen listen = NbdListen.unix(runtimeDir.resolve("nbd.sock"));
        String name = info.buildId().value();
        Served server = served.serve(layout, info.overlayPath() == null
                ? Serving.readOnly(name, description, listen, NbdServer.Limits.DEFAULT)
                : Serving.writable(name, description, listen, NbdServer.Limits.DEFAULT, info.overlayPath()));
        resources.push("stop the NBD server and close the image", server::close);
        // our own server lives and dies with this process: nothing to probe
        return new Server(server.endpoint(), server.overlay(), ActiveMount.Probe.NONE, entry);
    }

    /** The seed's engine: the whole build copied locally (a restored mount reuses its copy), served by qemu-nbd. */
    private Server serveLocalCopy(MountInfo info, BuildLayout layout, Path runtimeDir, Teardown resources,
                                  JournalEntry entry, MountOrigin origin) throws IOException {
        Path copy = info.tempFilePath();
        if (origin instanceof MountOrigin.Fresh || !Files.exists(copy)) {
            copyWhole(layout, copy);
        }
        QemuNbdServer server = QemuNbdServer.start(copy, runtimeDir.resolve("nbd.sock"), info.buildId().value(),
                info.readOnly(), QEMU_NBD_READY);
        resources.push("stop qemu-nbd", server::close);
        JournalEntry withPid = entry.withServerPid(server.pid());
        journal.write(withPid);
        return new Server(server.endpoint(), null, server::problem, withPid);
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
