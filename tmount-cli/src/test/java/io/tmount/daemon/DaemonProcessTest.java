package io.tmount.daemon;

import io.tmount.mount.Engine;
import io.tmount.mount.MountOptions;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.HostState;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardOpenOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** `tmount serve` as a real process: SIGTERM unmounts everything; after SIGKILL the next start reclaims. */
@ExtendWith(NoLeftovers.class)
class DaemonProcessTest {

    @TempDir
    Path dir;

    private BuildId build;

    @BeforeEach
    void template() throws IOException {
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open())) {
            build = new TemplateCatalog(store, dir.resolve("scratch"))
                    .create(TemplateId.of("base"), null, Trees.sample(dir.resolve("src"), 1), null);
        }
    }

    private Process serve() throws IOException, InterruptedException {
        return serve(List.of(), List.of());
    }

    private Process serve(List<String> wrapper, List<String> jvmOptions) throws IOException, InterruptedException {
        return serve(wrapper, jvmOptions, List.of());
    }

    /**
     * {@code wrapper}: a command the daemon runs under (prlimit); {@code jvmOptions}: such as a heap limit;
     * {@code serveOptions}: after {@code serve}.
     */
    private Process serve(List<String> wrapper, List<String> jvmOptions, List<String> serveOptions)
            throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(wrapper);
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(jvmOptions);
        command.addAll(List.of("--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), "io.tmount.cli.Main",
                "--state-dir", dir.resolve("state").toString(), "--runtime-dir", dir.resolve("run").toString(),
                "--store", "file://" + dir.resolve("store"), "serve"));
        command.addAll(serveOptions);
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile()).start();
        Path socket = dir.resolve("run/tmount.sock");
        for (int i = 0; i < 600; i++) {
            assertThat(process.isAlive()).as("daemon exited: %s", log()).isTrue();
            if (answers(socket)) {
                return process;
            }
            Thread.sleep(50);
        }
        process.destroyForcibly();
        throw new AssertionError("daemon did not answer within 30 s: " + log());
    }

    /** The socket of a killed daemon stays behind: wait for one that answers, not for the file. */
    private static boolean answers(Path socket) {
        if (!Files.exists(socket)) {
            return false;
        }
        try (DaemonClient client = DaemonClient.connect(socket)) {
            return client.health().status().equals("ok");
        } catch (RuntimeException e) {
            return false;
        }
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("daemon.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Test
    void withFewDescriptorsAndASmallHeap_newWorkIsRefusedClearly_andWhatRunsKeepsWorking() throws Exception {
        // issue 12: out of descriptors, a mount failed half way and even its clean-up could not start processes
        Process daemon = serve(List.of("prlimit", "--nofile=256:256"), List.of("-Xmx256m"));
        List<Path> mounted = new java.util.ArrayList<>();
        try (DaemonClient client = DaemonClient.connect(dir.resolve("run/tmount.sock"))) {
            io.tmount.TmountException refused = null;
            for (int i = 0; i < 40 && refused == null; i++) {
                Path mnt = dir.resolve("m/" + i);
                try {
                    client.mount("base", build.value(), mnt.toString(), MountOptions.defaults());
                    mounted.add(mnt);
                } catch (io.tmount.TmountException e) {
                    refused = e;
                }
            }
            assertThat(refused).as("never refused: %s", log()).isNotNull();
            assertThat(refused.kind()).isEqualTo(io.tmount.TmountException.Kind.UNAVAILABLE);
            assertThat(refused.getMessage()).contains("file descriptors open").contains("LimitNOFILE");
            assertThat(mounted).hasSizeGreaterThan(4);
            assertThat(log()).doesNotContain("Too many open files");

            // nothing half made, and everything made still works: reads, writes, commits, the API
            assertThat(client.health().status()).isEqualTo("ok");
            assertThat(client.list()).extracting(io.tmount.mount.MountInfo::mountPath)
                    .containsExactlyInAnyOrderElementsOf(mounted);
            assertThat(HostState.loopDevices()).filteredOn(l -> l.contains(dir.toString())).hasSize(mounted.size());
            for (Path mnt : mounted) {
                assertThat(Trees.checksums(mnt)).isNotEmpty();
                Files.writeString(mnt.resolve("still-writable.txt"), "yes\n");
            }
            assertThat(client.commit(mounted.getFirst().toString(), null).changed()).isTrue();

            // an unmount frees room for the next mount
            client.unmount(mounted.removeLast().toString());
            Path again = dir.resolve("m/again");
            client.mount("base", build.value(), again.toString(), MountOptions.defaults());
            mounted.add(again);
        } finally {
            daemon.destroy(); // SIGTERM: unmounts everything
            assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(daemon.exitValue()).as(log()).isZero();
        assertThat(mounted).allSatisfy(m -> assertThat(MountTable.ofThisProcess().isMountPoint(m)).isFalse());
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }

    @Test
    void clientsOfExportsHoldingWritesOpen_cannotExhaustASmallHeap_norStallAMount() throws Exception {
        // issue 12: 64 clients on each of 3 exports announcing 32 MiB writes ran a 256 MiB heap out of direct memory
        // (OutOfMemoryError in connection threads, requests of other clients failing)
        Process daemon = serve(List.of(), List.of("-Xmx256m"));
        List<java.nio.channels.SocketChannel> hostile = new java.util.ArrayList<>();
        try (DaemonClient client = DaemonClient.connect(dir.resolve("run/tmount.sock"))) {
            Path mnt = dir.resolve("m");
            client.mount("base", build.value(), mnt.toString(), MountOptions.defaults());
            for (int e = 0; e < 3; e++) {
                Path socket = dir.resolve("e" + e + ".sock");
                client.export(new ExportRequest("base", build.value(), null, socket.toString(), null, false, "e" + e,
                        false, 0));
                for (int i = 0; i < 64; i++) {
                    hostile.add(stalledWriter(socket, "e" + e));
                }
            }
            Thread.sleep(1000);
            // the mount reads and writes around the device's cache, through its own server, unhindered
            Path file = mnt.resolve("direct.bin");
            io.tmount.testing.Run.ok("dd", "if=/dev/urandom", "of=" + file, "bs=1M", "count=8", "oflag=direct");
            io.tmount.testing.Run.ok("dd", "if=" + file, "of=/dev/null", "bs=1M", "iflag=direct");
            assertThat(client.health().status()).isEqualTo("ok");
            assertThat(log()).doesNotContain("OutOfMemoryError");
            client.unmount(mnt.toString());
        } finally {
            for (var channel : hostile) {
                channel.close();
            }
            daemon.destroy();
            assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(daemon.exitValue()).as(log()).isZero();
        assertThat(log()).doesNotContain("OutOfMemoryError");
    }

    /** A raw NBD client that negotiates, announces a 32 MiB write and sends 10 bytes of it. */
    private static java.nio.channels.SocketChannel stalledWriter(Path socket, String export) throws IOException {
        var channel = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(socket));
        readFully(channel, 18); // NBDMAGIC, IHAVEOPT, handshake flags
        byte[] name = export.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        var out = java.nio.ByteBuffer.allocate(4 + 16 + name.length + 28 + 10)
                .putInt(3) // fixed newstyle, no zeroes
                .putLong(0x49484156454F5054L).putInt(1).putInt(name.length).put(name); // NBD_OPT_EXPORT_NAME
        channel.write(out.flip());
        readFully(channel, 10); // size and transmission flags
        var request = java.nio.ByteBuffer.allocate(28 + 10).putInt(0x25609513).putShort((short) 0)
                .putShort((short) 1).putLong(1).putLong(0).putInt(32 << 20).put(new byte[10]);
        channel.write(request.flip());
        return channel;
    }

    private static void readFully(java.nio.channels.SocketChannel channel, int bytes) throws IOException {
        var in = java.nio.ByteBuffer.allocate(bytes);
        while (in.hasRemaining()) {
            if (channel.read(in) < 0) {
                throw new java.io.EOFException("closed during the handshake");
            }
        }
    }

    @Test
    void prefetchAtStart_warmsTheBuildInTheBackground_afterTheDaemonIsUp() throws Exception {
        Process daemon = serve(List.of(), List.of(), List.of("--prefetch", "base=" + build.value(), "--prefetch",
                "base=no-such-build", "--prefetch-rate", "0"));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!log().contains("prefetched build " + build.value() + " at start")) {
                assertThat(System.nanoTime()).as("no prefetch at start: %s", log()).isLessThan(deadline);
                Thread.sleep(50);
            }
            assertThat(log()).contains("cannot prefetch build no-such-build at start");
            try (DaemonClient client = DaemonClient.connect(dir.resolve("run/tmount.sock"))) {
                assertThat(client.cache().objects()).extracting(o -> o.object())
                        .contains(build.value() + "/rootfs.ext4");
            }
        } finally {
            daemon.destroy();
            assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(daemon.exitValue()).as(log()).isZero();
    }

    @Test
    void sigterm_unmountsEverythingAndExitsZero() throws Exception {
        Process daemon = serve();
        try (DaemonClient client = DaemonClient.connect(dir.resolve("run/tmount.sock"))) {
            client.mount("base", build.value(), dir.resolve("a").toString(), MountOptions.defaults());
            client.mount("base", build.value(), dir.resolve("b").toString(), MountOptions.defaults().withEngine(Engine.QEMU_NBD));
        }
        daemon.destroy(); // SIGTERM
        assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(daemon.exitValue()).as(log()).isZero();
        assertThat(log()).contains("unmounting 2 mount(s)").contains("tmount daemon stopped");
        assertThat(MountTable.ofThisProcess().isMountPoint(dir.resolve("a"))).isFalse();
        assertThat(MountTable.ofThisProcess().isMountPoint(dir.resolve("b"))).isFalse();
        assertThat(dir.resolve("run/tmount.sock")).doesNotExist();
    }

    @Test
    void afterSigkill_theNextStartBringsTheMountsBack_withTheirDurableWrites() throws Exception {
        Process first = serve();
        try (DaemonClient client = DaemonClient.connect(dir.resolve("run/tmount.sock"))) {
            client.mount("base", build.value(), dir.resolve("a").toString(), MountOptions.defaults());
            client.mount("base", build.value(), dir.resolve("b").toString(), MountOptions.defaults().withEngine(Engine.QEMU_NBD));
        }
        for (String path : List.of("a", "b")) {
            Path file = dir.resolve(path + "/acknowledged.txt");
            Files.writeString(file, "durable in " + path + "\n");
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
        }
        first.destroyForcibly(); // SIGKILL: no cleanup runs
        first.waitFor(30, TimeUnit.SECONDS);
        assertThat(MountTable.ofThisProcess().isMountPoint(dir.resolve("a"))).isTrue(); // left behind, dead

        Process second = serve();
        try (DaemonClient client = DaemonClient.connect(dir.resolve("run/tmount.sock"))) {
            assertThat(client.list()).extracting(m -> m.mountPath().getFileName().toString()).containsExactlyInAnyOrder("a", "b");
            assertThat(dir.resolve("a/acknowledged.txt")).hasContent("durable in a");
            assertThat(dir.resolve("b/acknowledged.txt")).hasContent("durable in b");
            assertThat(log()).contains("reclaiming mount").contains("restored mount");
            client.unmount(dir.resolve("b").toString());
        } finally {
            second.destroy();
            assertThat(second.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(second.exitValue()).isZero();
        assertThat(MountTable.ofThisProcess().isMountPoint(dir.resolve("a"))).isFalse();
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
    }
}
