package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.TmountException;
import io.tmount.daemon.Daemon;
import io.tmount.daemon.DaemonClient;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountInfo;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountOptions;
import io.tmount.os.Folders;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

@Command(name = "demo", description = {
        "Create a small template, mount it, read its files, unmount it.",
        "Works on the configured store: makes a template from a sample folder, mounts it, reads its files back",
        "(checked byte for byte against the folder), writes one, and unmounts it. Uses the running daemon if",
        "there is one, else mounts in-process."})
final class DemoCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    /** The mount operations the demo needs, from the daemon or from an in-process manager. */
    private interface Mounts extends AutoCloseable {
        MountInfo mount(TemplateId template, BuildId build, Path path);

        void unmount(Path path);

        @Override
        void close();
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Settings settings = main.settings();
        Path work = Files.createTempDirectory("tmount-demo-");
        try (TemplateStore store = settings.openStore()) {
            out.println("tmount demo: look inside a template without booting it");
            out.println("  template store: " + store.url());
            out.println("  state dir:      " + settings.stateDir());

            Path source = work.resolve("template-folder");
            List<Path> files = writeSampleFolder(source);
            long start = System.nanoTime();
            BuildId build = new TemplateCatalog(store, settings.stateDir().resolve("tmp"))
                    .create(TemplateId.of("demo"), null, source, null);
            out.printf("1. created template 'demo' build %s from a sample folder (%d files, %s image) in %d ms%n",
                    build, files.size(), ByteSize.format(store.info(TemplateStore.rootfsKey(build)).orElseThrow().size()), millisSince(start));

            try (Mounts mounts = openMounts(settings, store, out)) {
                Path mountPath = work.resolve("mnt");
                start = System.nanoTime();
                MountInfo info = mounts.mount(TemplateId.of("demo"), build, mountPath);
                out.printf("2. mounted it at %s in %d ms (%s via %s, engine %s)%n", mountPath, millisSince(start),
                        info.devicePath(), info.attach(), info.engine());
                try {
                    out.println("3. its files, read back through the mount and compared with the folder:");
                    for (Path file : files) {
                        Path mounted = mountPath.resolve(source.relativize(file).toString());
                        boolean same = sha256(mounted).equals(sha256(file));
                        out.printf("     /%-28s %10s  %s%n", source.relativize(file), ByteSize.format(Files.size(mounted)),
                                same ? "identical" : "DIFFERENT");
                        if (!same) {
                            throw new TmountException(TmountException.Kind.FAILED, mounted + " differs from " + file);
                        }
                    }
                    out.println("4. /etc/motd says: " + Files.readString(mountPath.resolve("etc/motd")).strip());
                    Path written = mountPath.resolve("root/written-by-demo.txt");
                    Files.writeString(written, "changes go to this mount's own copy, never to the build in the store\n");
                    out.println("5. wrote /root/written-by-demo.txt: " + Files.readString(written).strip());
                } finally {
                    start = System.nanoTime();
                    mounts.unmount(mountPath);
                    out.printf("6. unmounted it in %d ms; device, NBD server and local copy released%n", millisSince(start));
                }
            }
            out.println();
            out.println("The build stays in the store. To mount it yourself:");
            out.println("  ./tmount serve &");
            out.println("  ./tmount mount demo " + build + " /mnt/demo --read-only");
            out.println("  ls /mnt/demo/etc && ./tmount unmount /mnt/demo");
            return 0;
        } finally {
            Folders.deleteTree(work);
        }
    }

    private Mounts openMounts(Settings settings, TemplateStore store, PrintWriter out) {
        if (Files.exists(settings.socket())) {
            try {
                DaemonClient client = DaemonClient.connect(settings.socket());
                client.health();
                out.println("  (mounting through the running daemon at " + settings.socket() + ")");
                return new Mounts() {
                    public MountInfo mount(TemplateId template, BuildId build, Path path) {
                        return client.mount(template.value(), build.value(), path.toString(), MountOptions.defaults());
                    }

                    public void unmount(Path path) {
                        client.unmount(path.toString());
                    }

                    public void close() {
                        client.close();
                    }
                };
            } catch (TmountException noDaemon) {
                // a stale socket: fall through and mount in-process
            }
        }
        TmountHost host = TmountHost.open(settings.mountManagerConfig(store, settings.nbdPoolSize()),
                Daemon.DEFAULT_BUILDS_DIR);
        MountManager manager = host.mounts();
        return new Mounts() {
            public MountInfo mount(TemplateId template, BuildId build, Path path) {
                return manager.mountTemplate(template, build, path, MountOptions.defaults());
            }

            public void unmount(Path path) {
                manager.unmountTemplate(path);
            }

            public void close() {
                host.close();
            }
        };
    }

    /** A small root filesystem: a few text files, a script, 2 MiB of binary data. */
    private static List<Path> writeSampleFolder(Path root) throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(write(root.resolve("etc/hostname"), "tmount-demo\n"));
        files.add(write(root.resolve("etc/os-release"), "NAME=\"tmount demo template\"\nID=tmount-demo\nVERSION_ID=1\n"));
        files.add(write(root.resolve("etc/motd"), "Hello from inside a template image, mounted without booting it.\n"));
        files.add(write(root.resolve("app/config/app.conf"), "listen = 0.0.0.0:8080\nworkers = 4\n"));
        Path script = write(root.resolve("app/bin/start.sh"), "#!/bin/sh\nexec /app/bin/server --config /app/config/app.conf\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        files.add(script);
        byte[] data = new byte[2 << 20];
        new Random(42).nextBytes(data);
        Path blob = root.resolve("var/lib/app/data.bin");
        Files.createDirectories(blob.getParent());
        files.add(Files.write(blob, data));
        Files.createDirectories(root.resolve("root"));
        try (Stream<Path> sorted = files.stream().sorted()) {
            return sorted.toList();
        }
    }

    private static Path write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.writeString(file, content);
    }

    private static String sha256(Path file) throws IOException {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
