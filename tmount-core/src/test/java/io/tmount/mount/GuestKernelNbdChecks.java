package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.device.AttachBackend;
import io.tmount.device.Attachers;
import io.tmount.device.KernelNbdAttacher;
import io.tmount.device.NbdDevicePool;
import io.tmount.export.ExportInfo;
import io.tmount.export.ExportOptions;
import io.tmount.export.ExportSource;
import io.tmount.host.TmountHost;
import io.tmount.nbd.NbdListen;
import io.tmount.os.Commands;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.testing.RawImages;
import io.tmount.testing.Trees;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs inside the emulated VM of {@link KernelNbdVmTest}, where the nbd module is loaded with nbds_max=2: tmount's
 * kernel-nbd path for real (the device pool over the guest's sysfs, nbd-client, ext4 on /dev/nbdN, recovery).
 * Prints one {@code CHECK name: PASS} or {@code CHECK name: FAIL why} line per check; exits with the failures.
 * With a stress count (and the module loaded with nbds_max=8) it ends with that many mixed operations from 8 threads
 * on a pool of all 8 devices, printing {@code GUEST stress} lines with each operation's latencies.
 * Arguments: storeDir template build expected-checksums-file [stress-operations].
 */
public final class GuestKernelNbdChecks {

    static final Path STATE = Path.of("/run/tmount/state");
    static final Path RUN = Path.of("/run/tmount/run");

    private final TemplateStore store;
    private final TemplateId template;
    private final BuildId build;
    private final Map<String, String> expected;
    private final NbdDevicePool pool = NbdDevicePool.onThisHost(2, Duration.ofSeconds(2));
    private int failures;
    private int stressOps;

    private GuestKernelNbdChecks(TemplateStore store, TemplateId template, BuildId build, Map<String, String> expected) {
        this.store = store;
        this.template = template;
        this.build = build;
        this.expected = expected;
    }

    static MountManagerConfig config(TemplateStore store, NbdDevicePool pool) {
        Attachers kernelOnly = new Attachers(List.of(new KernelNbdAttacher(pool, "nbd-client", Duration.ofSeconds(90), 1)));
        return new MountManagerConfig(STATE, RUN, store, kernelOnly, Duration.ofSeconds(2)).withCache(1 << 20, 256L << 20);
    }

    public static void main(String[] args) throws IOException {
        TemplateStore store = new TemplateStore(new StoreLocation.Local(Path.of(args[0])).open());
        Properties sums = new Properties();
        try (var in = Files.newBufferedReader(Path.of(args[3]))) {
            sums.load(in);
        }
        Map<String, String> expected = new TreeMap<>();
        sums.forEach((k, v) -> expected.put((String) k, (String) v));
        GuestKernelNbdChecks checks = new GuestKernelNbdChecks(store, TemplateId.of(args[1]), BuildId.of(args[2]), expected);
        checks.stressOps = args.length > 4 ? Integer.parseInt(args[4]) : 0;
        checks.run();
        System.out.println("CHECKS DONE: " + checks.failures + " failed");
        System.exit(Math.min(checks.failures, 100));
    }

    private interface Check {
        void run() throws Exception;
    }

    private void check(String name, Check check) {
        long start = System.nanoTime();
        try {
            check.run();
            System.out.printf("CHECK %s: PASS (%d ms)%n", name, (System.nanoTime() - start) / 1_000_000);
        } catch (Throwable t) {
            failures++;
            System.out.printf("CHECK %s: FAIL %s%n", name, t.toString().replace('\n', ' '));
            t.printStackTrace(System.out);
        }
        System.out.flush();
    }

    private static void require(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    private void run() {
        TmountHost host = TmountHost.open(config(store, pool), Path.of("/run/tmp/builds"));
        MountManager manager = host.mounts();
        check("pool sees the module's devices", () -> require(pool.moduleLoaded() && pool.kernelFree(0)
                && pool.kernelFree(1), "nbd0 and nbd1 should exist and be free"));
        check("mount on /dev/nbdN, read every file, write, commit, unmount", () -> mountReadWriteCommit(manager));
        check("userspace mode (fuse2fs) on /dev/nbdN: read every file, write, commit, unmount",
                () -> userspaceMode(manager));
        check("pool exhaustion with nbds_max=2 is the clear error", () -> exhaustion(manager));
        check("server death: reads fail with EIO at once, the device is reclaimed", () -> serverDeath(manager));
        check("an export (no mount) attached by nbd-client reads as the build, byte for byte", () -> exportToKernel(host));
        host.close();
        check("all devices free after close", () -> require(pool.kernelFree(0) && pool.kernelFree(1), "a device is still connected"));
        check("a device left by a killed daemon is reclaimed at the next start", this::killedDaemon);
        if (stressOps > 0) {
            check("stress: " + stressOps + " mixed operations from 8 threads on a pool of 8 devices",
                    () -> GuestStress.run(store, template, build, expected, stressOps));
        }
    }

    private void mountReadWriteCommit(MountManager manager) throws IOException {
        Path mnt = Path.of("/mnt/vm/rw");
        MountInfo info = manager.mountTemplate(template, build, mnt, MountOptions.defaults());
        require(info.attach() == AttachBackend.KERNEL_NBD, "attached with " + info.attach());
        require(info.devicePath().toString().matches("/dev/nbd[01]"), "device " + info.devicePath());
        require(!pool.kernelFree(info.deviceSlot()), "the pool should see " + info.devicePath() + " busy");
        require(Files.readString(Path.of("/sys/block/nbd" + info.deviceSlot() + "/size")).strip().matches("[1-9]\\d*"),
                "the device has no size");
        Map<String, String> read = Trees.checksums(mnt);
        require(read.equals(expected), "files differ: read " + read.keySet() + " expected " + expected.keySet());
        Path written = mnt.resolve("written-in-the-guest.txt");
        Files.writeString(written, "written through /dev/nbd in an emulated VM\n");
        try (FileChannel channel = FileChannel.open(written, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        CommitResult commit = manager.commit(mnt, BuildId.of("committed-in-guest"), null, false,
                new io.tmount.image.WriteFormat(io.tmount.compress.Compression.LZ4, 0, 0, null));
        require(commit.changed(), "nothing committed");
        manager.unmountTemplate(mnt);
        require(pool.kernelFree(info.deviceSlot()), info.devicePath() + " should be free after the unmount");
    }

    private void userspaceMode(MountManager manager) throws IOException {
        Path mnt = Path.of("/mnt/vm/userspace");
        MountInfo info = manager.mountTemplate(template, build, mnt,
                MountOptions.defaults().withFs(FilesystemMode.USERSPACE));
        require(info.attach() == AttachBackend.KERNEL_NBD && info.fs() == FilesystemMode.USERSPACE,
                "mounted " + info.attach() + " " + info.fs());
        require(Files.readString(Path.of("/proc/self/mountinfo")).contains(" fuse.fuse2fs "), "no fuse2fs mount");
        Map<String, String> read = Trees.checksums(mnt);
        require(read.equals(expected), "files differ: read " + read.keySet() + " expected " + expected.keySet());
        Files.writeString(mnt.resolve("written-by-fuse2fs.txt"), "written through fuse2fs on /dev/nbd\n");
        CommitResult commit = manager.commit(mnt, BuildId.of("committed-by-fuse2fs"), null, false);
        require(commit.changed(), "nothing committed");
        manager.unmountTemplate(mnt);
        require(pool.kernelFree(info.deviceSlot()), info.devicePath() + " should be free after the unmount");
        Path check = Path.of("/mnt/vm/userspace-check");
        manager.mountTemplate(template, commit.build(), check, MountOptions.defaults().withReadOnly(true));
        require(Files.readString(check.resolve("written-by-fuse2fs.txt")).equals(
                "written through fuse2fs on /dev/nbd\n"), "the commit lost the write");
        manager.unmountTemplate(check);
    }

    private void exhaustion(MountManager manager) {
        manager.mountTemplate(template, build, Path.of("/mnt/vm/one"), MountOptions.defaults().withReadOnly(true));
        manager.mountTemplate(template, build, Path.of("/mnt/vm/two"), MountOptions.defaults().withReadOnly(true));
        try {
            manager.mountTemplate(template, build, Path.of("/mnt/vm/three"), MountOptions.defaults().withReadOnly(true));
            throw new AssertionError("a third mount got a device");
        } catch (TmountException e) {
            require(e.getMessage().contains("all 2 nbd devices of the pool"), "message: " + e.getMessage());
        } finally {
            manager.unmountAll();
        }
        require(pool.kernelFree(0) && pool.kernelFree(1), "devices not released");
    }

    private void serverDeath(MountManager manager) throws Exception {
        Path mnt = Path.of("/mnt/vm/dies");
        MountInfo info = manager.mountTemplate(template, build, mnt, MountOptions.defaults().withReadOnly(true)
                .withEngine(Engine.QEMU_NBD));
        ProcessHandle server = ProcessHandle.current().descendants()
                .filter(p -> p.info().command().orElse("").endsWith("qemu-nbd")).findFirst()
                .orElseThrow(() -> new AssertionError("no qemu-nbd process"));
        Path big = mnt.resolve(expected.keySet().stream().filter(k -> k.endsWith(".bin")).findFirst().orElseThrow());
        require(Files.size(big) > 0, "empty file");
        server.destroyForcibly();
        server.onExit().get(10, TimeUnit.SECONDS);
        long start = System.nanoTime();
        try (RandomAccessFile file = new RandomAccessFile(big.toFile(), "r")) {
            file.readFully(new byte[(int) Math.min(file.length(), 100_000)]);
            throw new AssertionError("read succeeded after the server died");
        } catch (IOException expectedFailure) {
            long millis = (System.nanoTime() - start) / 1_000_000;
            require(millis < 30_000, "the failing read took " + millis + " ms");
            System.out.println("GUEST read failed after the server died, in " + millis + " ms: " + expectedFailure.getMessage());
        }
        manager.unmountTemplate(mnt);
        require(pool.kernelFree(info.deviceSlot()), info.devicePath() + " not reclaimed after the server died");
    }

    /** The kernel as a plain NBD client of an export: nbd-client connects /dev/nbd1, the device reads as the build. */
    private void exportToKernel(TmountHost host) throws Exception {
        MountManager manager = host.mounts();
        Path socket = Path.of("/run/tmp/export.sock");
        ExportInfo info = host.exports().export(new ExportSource.Build(template, build),
                new ExportOptions(NbdListen.unix(socket), true, "guest-export"));
        Path composed = RawImages.write(manager.images().open(manager.images().layout(build)), Path.of("/run/tmp/composed.img"));
        try {
            Commands.check(Duration.ofSeconds(30), List.of("nbd-client", "-unix", socket.toString(), "/dev/nbd1",
                    "-N", "guest-export", "-b", "4096"));
            try {
                require(!pool.kernelFree(1), "nbd1 should be connected");
                require(Trees.sha256(Path.of("/dev/nbd1")).equals(Trees.sha256(composed)), "/dev/nbd1 differs from the build");
            } finally {
                Commands.check(Duration.ofSeconds(30), List.of("nbd-client", "-d", "/dev/nbd1"));
            }
        } finally {
            host.exports().unexport(info.name());
            Files.deleteIfExists(composed);
        }
        require(pool.kernelFree(1), "nbd1 not free after the disconnect");
    }

    /** A daemon (child JVM) mounts and writes, is killed with SIGKILL; the next start takes its device back. */
    private void killedDaemon() throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process child = new ProcessBuilder(java, "-XX:-UsePerfData", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=/run/tmp",
                "-cp", System.getProperty("java.class.path"), GuestDaemonChild.class.getName(),
                store.url().replace("file://", ""), template.value(), build.value())
                .redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("READY")) {
                System.out.println("child: " + line);
            }
            require(line != null, "the child daemon did not get ready");
        }
        child.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        require(!pool.kernelFree(0) || !pool.kernelFree(1), "the killed daemon's device should still be connected");
        try (MountManager restarted = MountManager.open(config(store, pool))) {
            List<MountInfo> mounts = restarted.listMounts();
            require(mounts.size() == 1, "restored mounts: " + mounts);
            Path mnt = mounts.getFirst().mountPath();
            require(Files.readString(mnt.resolve("before-the-kill.txt")).equals("durable\n"), "the fsynced write is gone");
            restarted.unmountTemplate(mnt);
        }
        require(pool.kernelFree(0) && pool.kernelFree(1), "devices still connected after the restart and unmount");
    }
}
