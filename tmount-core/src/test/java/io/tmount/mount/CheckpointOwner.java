package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A process that is stopped at a named {@link Checkpoints} point and killed there by {@link CrashPointsTest}: it
 * mounts a build writable at the first path, writes a file there and fsyncs it, then arms the checkpoint and either
 * commits that mount ({@code commit.*} points), unmounts it ({@code unmount.*}), exports the build on a socket at the
 * second path ({@code export.serving}) or mounts the build again at the second path ({@code mount.*}).
 * At the point it writes the marker file and waits for SIGKILL.
 * Arguments: stateDir runtimeDir storeDir template build firstPath secondPath point markerFile.
 */
public final class CheckpointOwner {

    /** The build a commit here stores. */
    static final BuildId COMMITTED = BuildId.of("c0000000-0000-4000-8000-00000000c0de");
    /** A point inside the store: the new build's header is written, its data and metadata not yet. */
    static final String HEADER_STORED = "store.header-stored";
    /** Inside the store: header and data are written, the metadata (written last: it makes the build) not yet. */
    static final String DATA_STORED = "store.data-stored";
    /** Inside the store: the build is complete; the commit has not cleaned up nor answered yet. */
    static final String METADATA_STORED = "store.metadata-stored";
    /** Not a checkpoint of tmount's: the owner exported the build writable (named "crash", socket at the second path). */
    static final String EXPORT_SERVING = "export.serving";

    public static void main(String[] args) throws Exception {
        String point = args[7];
        Path marker = Path.of(args[8]);
        AtomicBoolean armed = new AtomicBoolean();
        Checkpoints stop = reached -> {
            if (armed.get() && reached.equals(point)) {
                try {
                    // whole or not at all: the test polls for the file and reads it at once
                    io.tmount.os.AtomicFiles.replace(marker, reached.getBytes());
                    Thread.sleep(Long.MAX_VALUE);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        TemplateStore store = new TemplateStore(new io.tmount.testing.ForwardingStore(
                new StoreLocation.Local(Path.of(args[2])).open()) {
            @Override
            public void create(String key, byte[] content) throws java.io.IOException {
                super.create(key, content);
                if (key.endsWith("/" + TemplateStore.HEADER)) {
                    stop.reached(HEADER_STORED);
                } else if (key.equals(TemplateStore.metadataKey(COMMITTED))) {
                    stop.reached(METADATA_STORED);
                }
            }

            @Override
            public void create(String key, Path source) throws java.io.IOException {
                super.create(key, source);
                if (key.startsWith(COMMITTED.value() + "/")) {
                    stop.reached(DATA_STORED);
                }
            }
        });
        TmountHost host = TmountHost.open(new MountManagerConfig(Path.of(args[0]), Path.of(args[1]), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)).withCheckpoints(stop),
                Path.of(args[0]).resolveSibling("owner-builds"));
        MountManager manager = host.mounts();
        TemplateId template = TemplateId.of(args[3]);
        BuildId build = BuildId.of(args[4]);
        Path first = Path.of(args[5]);
        manager.mountTemplate(template, build, first, MountOptions.defaults());
        Path file = first.resolve("acknowledged.txt");
        Files.writeString(file, "written before the crash\n");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        armed.set(true);
        if (point.equals(EXPORT_SERVING)) {
            host.exports().export(new io.tmount.export.ExportSource.Build(template, build),
                    new io.tmount.export.ExportOptions(io.tmount.nbd.NbdListen.unix(Path.of(args[6])), false, "crash"));
            stop.reached(EXPORT_SERVING);
        } else if (point.startsWith("commit.") || point.startsWith("store.")) {
            manager.commit(first, COMMITTED);
        } else if (point.startsWith("unmount.")) {
            manager.unmountTemplate(first);
        } else {
            manager.mountTemplate(template, build, Path.of(args[6]), MountOptions.defaults());
        }
        io.tmount.os.AtomicFiles.replace(marker, ("finished without reaching " + point).getBytes());
        Thread.sleep(Long.MAX_VALUE);
    }
}
