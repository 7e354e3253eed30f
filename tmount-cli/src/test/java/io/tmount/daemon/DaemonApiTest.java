package io.tmount.daemon;

import io.tmount.TmountException;
import io.tmount.builder.BuildResult;
import io.tmount.device.AttachBackend;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.mount.Engine;
import io.tmount.mount.MountInfo;
import io.tmount.mount.MountManagerConfig;
import io.tmount.mount.MountOptions;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.BusyboxTree;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Transport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.nio.channels.Channels;
import java.nio.ByteBuffer;
import org.eclipse.jetty.client.InputStreamRequestContent;
import java.nio.charset.StandardCharsets;
import java.nio.channels.SocketChannel;
import java.net.UnixDomainSocketAddress;
import java.io.ByteArrayInputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** End to end through the daemon's HTTP/JSON API on its unix socket, with real mounts. */
@ExtendWith(NoLeftovers.class)
class DaemonApiTest {

    @TempDir
    Path dir;

    private TemplateStore store;
    private Daemon daemon;
    private DaemonClient client;
    private Path socket;
    private Path source;
    private BuildId build;

    @BeforeEach
    void start() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        source = Trees.sample(dir.resolve("src"), 1);
        build = new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("base"), null, source, null);
        socket = dir.resolve("run/tmount.sock");
        daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)), dir.resolve("builds")), socket, "test",
                dir.resolve("state").toString(), Duration.ofMillis(300));
        client = DaemonClient.connect(socket);
    }

    @AfterEach
    void stop() throws IOException {
        client.close();
        daemon.close();
        store.close();
    }

    /** curl as another user (uid, primary gid, supplementary gids): the HTTP status of GET /v1/health, or 0. */
    private static int healthAs(Path socket, int uid, int gid, String groups) throws Exception {
        Process curl = new ProcessBuilder("setpriv", "--reuid=" + uid, "--regid=" + gid,
                groups.isEmpty() ? "--clear-groups" : "--groups=" + groups, "curl", "-s", "-o", "/dev/null",
                "-w", "%{http_code}", "--unix-socket", socket.toString(), "http://tmount/v1/health")
                .redirectErrorStream(true).start();
        String out = new String(curl.getInputStream().readAllBytes()).strip();
        curl.waitFor();
        return out.matches("\\d{3}") ? Integer.parseInt(out) : 0;
    }

    @Test
    void apiPeers_rootOnlyByDefault_evenThroughAWidenedSocket_andAConfiguredGroupsMembers() throws Exception {
        // the socket's mode keeps other users out; widened by mistake, the peer's credentials still do
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(socket.getParent(),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        Files.setPosixFilePermissions(socket, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        assertThat(healthAs(socket, 0, 0, "")).isEqualTo(200);
        assertThat(healthAs(socket, 65_000, 65_000, "")).isEqualTo(403);

        // with --api-group users: members get in (primary group here), others not, even with the group's file access
        Path groupSocket = dir.resolve("run-group/tmount.sock");
        try (TemplateStore second = new TemplateStore(new StoreLocation.Local(dir.resolve("store2")).open());
             Daemon grouped = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state2"),
                     dir.resolve("run2"), second, Attachers.onThisHost(1), Duration.ofMillis(500)),
                     dir.resolve("builds2")), groupSocket, "test", "x", Duration.ofSeconds(10), "users")) {
            assertThat(Files.getPosixFilePermissions(groupSocket))
                    .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw----"));
            assertThat(Files.getAttribute(groupSocket, "posix:group").toString()).isEqualTo("users");
            assertThat(healthAs(groupSocket, 65_000, 100, "")).isEqualTo(200);
            assertThat(healthAs(groupSocket, 65_001, 65_001, "100")).isEqualTo(403);
            assertThat(healthAs(groupSocket, 65_002, 65_002, "")).as("no file access at all").isEqualTo(0);
        }
    }

    @Test
    void health_reportsTheStoreAndMounts() {
        Health health = client.health();
        assertThat(health.status()).isEqualTo("ok");
        assertThat(health.store()).isEqualTo(store.url());
        assertThat(health.mounts()).isZero();
    }

    @Test
    void aMountWhoseQemuNbdDied_makesTheDaemonDegraded_namesTheProblem_andStillUnmounts() {
        Path mnt = dir.resolve("q");
        MountInfo info = client.mount("base", build.value(), mnt.toString(),
                MountOptions.defaults().withEngine(Engine.QEMU_NBD).withReadOnly(true));
        ProcessHandle qemuNbd = ProcessHandle.allProcesses()
                .filter(p -> p.info().commandLine().orElse("").contains("qemu-nbd")
                        && p.info().commandLine().orElse("").contains(info.id()))
                .findFirst().orElseThrow();
        qemuNbd.destroyForcibly();
        qemuNbd.onExit().join();

        Health health = client.health();
        assertThat(health.status()).isEqualTo("degraded");
        assertThat(health.mountsWithProblems()).isEqualTo(1);
        assertThat(client.list()).singleElement().extracting(MountInfo::problem).asString()
                .contains("qemu-nbd (pid " + qemuNbd.pid() + ") exited");
        client.unmount(mnt.toString());
        assertThat(client.health().status()).isEqualTo("ok");
        assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
    }

    @Test
    void createMountReadEveryFileWriteUnmount() throws IOException {
        Path mnt = dir.resolve("mnt/base");
        MountInfo info = client.mount("base", build.value(), mnt.toString(), MountOptions.defaults());
        assertThat(info.mountPath()).isEqualTo(mnt);
        assertThat(info.attach()).isEqualTo(AttachBackend.FUSE_LOOP);
        assertThat(client.list()).containsExactly(info);

        assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source)); // every file, byte for byte
        Files.writeString(mnt.resolve("root-note.txt"), "hello from the host\n");
        assertThat(mnt.resolve("root-note.txt")).hasContent("hello from the host");

        client.unmount(mnt.toString());
        assertThat(client.list()).isEmpty();
        assertThat(MountTable.ofThisProcess().isMountPoint(mnt)).isFalse();
        assertThat(dir.resolve("mnt")).doesNotExist();
    }

    @Test
    void readOnlyMount_refusesWrites() {
        Path mnt = dir.resolve("ro");
        client.mount("base", build.value(), mnt.toString(), MountOptions.defaults().withReadOnly(true));
        try {
            assertThatThrownBy(() -> Files.writeString(mnt.resolve("x"), "no")).isInstanceOf(FileSystemException.class);
        } finally {
            client.unmount(mnt.toString());
        }
    }

    @Test
    void fsckThroughTheApi_checksTheFilesystemBeforeMounting() throws IOException {
        Path mnt = dir.resolve("checked");
        client.mount("base", build.value(), mnt.toString(), MountOptions.defaults().withReadOnly(true).withFsck(true));
        try {
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));
        } finally {
            client.unmount(mnt.toString());
        }
    }

    @Test
    void twoTemplatesMountedAtOnce() throws IOException {
        Path other = Trees.sample(dir.resolve("src2"), 2);
        BuildId otherBuild = new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("other"), null, other, null);
        client.mount("base", build.value(), dir.resolve("a").toString(), MountOptions.defaults());
        client.mount("other", otherBuild.value(), dir.resolve("b").toString(), MountOptions.defaults().withReadOnly(true));
        try {
            assertThat(client.list()).extracting(m -> m.templateId().value()).containsExactly("base", "other");
            assertThat(Trees.checksums(dir.resolve("a"))).isEqualTo(Trees.checksums(source));
            assertThat(Trees.checksums(dir.resolve("b"))).isEqualTo(Trees.checksums(other));
        } finally {
            client.unmount(dir.resolve("a").toString());
            client.unmount(dir.resolve("b").toString());
        }
    }

    @Test
    void qemuNbdEngine_mountsThroughTheApi() {
        Path mnt = dir.resolve("q");
        MountInfo info = client.mount("base", build.value(), mnt.toString(), MountOptions.defaults().withEngine(Engine.QEMU_NBD));
        try {
            assertThat(info.engine()).isEqualTo(Engine.QEMU_NBD);
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));
        } finally {
            client.unmount(mnt.toString());
        }
    }

    @Test
    void concurrentMountsAndUnmounts_fromSeveralThreads() throws Exception {
        try (ExecutorService threads = Executors.newFixedThreadPool(4)) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                work.add(threads.submit(() -> {
                    for (int round = 0; round < 2; round++) {
                        Path mnt = dir.resolve("c" + id + "/r" + round);
                        client.mount("base", build.value(), mnt.toString(), MountOptions.defaults());
                        assertThat(mnt.resolve("etc/hostname")).hasContent("template-1");
                        client.unmount(mnt.toString());
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get(3, TimeUnit.MINUTES);
            }
        }
        assertThat(client.list()).isEmpty();
    }

    @Test
    void badInputs_areRefusedWithTheirMessageAndKind() throws IOException {
        String b = build.value();
        String m = dir.resolve("m").toString();
        expect(() -> client.mount("base", b, "rel/path", MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "must be absolute");
        expect(() -> client.mount("base", b, "/", MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "is a system folder");
        expect(() -> client.mount("base", b, "/proc/x", MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "inside the system folder /proc");
        expect(() -> client.mount("base", b, dir.resolve("run/x").toString(), MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "tmount's own folder");
        expect(() -> client.mount("base", b, dir.resolve("m/../n").toString(), MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "not normalized");
        expect(() -> client.mount("a/b", b, m, MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "template id 'a/b' is invalid");
        expect(() -> client.mount("base", "x".repeat(200), m, MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "too long");
        expect(() -> client.mount("base", "evil\u0001", m, MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "\\u0001");
        expect(() -> client.mount("base", "missing", m, MountOptions.defaults()), TmountException.Kind.NOT_FOUND, "build 'missing' of template 'base' not found");
        expect(() -> client.mount("other", b, m, MountOptions.defaults()), TmountException.Kind.CONFLICT, "belongs to template 'base', not to template 'other'");
        expect(() -> client.mount("base", b, m, MountOptions.defaults().withAttach(AttachBackend.KERNEL_NBD)), TmountException.Kind.UNAVAILABLE, "kernel-nbd cannot work on this host");
        expect(() -> client.unmount(m), TmountException.Kind.NOT_FOUND, "nothing is mounted by tmount at");
        Files.createDirectories(dir.resolve("real"));
        Files.createSymbolicLink(dir.resolve("link"), dir.resolve("real"));
        expect(() -> client.mount("base", b, dir.resolve("link/x").toString(), MountOptions.defaults()), TmountException.Kind.INVALID_ARGUMENT, "goes through a symlink");

        Path mnt = dir.resolve("dup");
        client.mount("base", b, mnt.toString(), MountOptions.defaults());
        try {
            expect(() -> client.mount("base", b, mnt.toString(), MountOptions.defaults()), TmountException.Kind.CONFLICT, "is already mounted");
        } finally {
            client.unmount(mnt.toString());
        }
        Path tmpfs = Files.createDirectories(dir.resolve("tmpfs"));
        Run.ok("mount", "-t", "tmpfs", "tmpfs", tmpfs.toString());
        try {
            expect(() -> client.mount("base", b, tmpfs.toString(), MountOptions.defaults()), TmountException.Kind.CONFLICT, "something is already mounted at");
        } finally {
            Run.ok("umount", tmpfs.toString());
        }
        assertThat(dir.resolve("m")).doesNotExist();
    }

    @Test
    void oversizedBodies_andConnectionFloods_areBounded() throws Exception {
        // issue 12 D17: bodies were read whole (32 x 100 MB took the heap), and connections had no limit
        HttpClient http = new HttpClient();
        http.start();
        List<SocketChannel> flood = new ArrayList<>();
        try {
            // a declared 100 MB body is answered before it is sent (the client stops at the answer, as curl does)
            try (SocketChannel raw = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                raw.write(ByteBuffer.wrap(("POST /v1/mounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 100000000\r\n\r\n{\"templateId\":\"").getBytes(StandardCharsets.UTF_8)));
                String answer = new String(Channels.newInputStream(raw).readAllBytes(), StandardCharsets.UTF_8);
                assertThat(answer).startsWith("HTTP/1.1 400").contains("request body of 100000000 bytes")
                        .contains("the API takes at most 1048576 bytes");
            }
            // a body of no declared length is cut off after 1 MiB
            try (SocketChannel raw = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                raw.write(ByteBuffer.wrap(("POST /v1/exports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.UTF_8)));
                java.util.concurrent.atomic.AtomicBoolean cutOff = new java.util.concurrent.atomic.AtomicBoolean();
                Thread writer = Thread.ofPlatform().start(() -> {
                    byte[] chunk = ("10000\r\n" + "x".repeat(0x10000) + "\r\n").getBytes(StandardCharsets.UTF_8);
                    try {
                        for (int i = 0; i < 64; i++) { // 4 MiB, if the server took it all
                            raw.write(ByteBuffer.wrap(chunk));
                        }
                    } catch (IOException answeredAndClosed) {
                        cutOff.set(true); // expected: the server stops reading at the limit
                    }
                });
                String answer;
                try {
                    answer = new String(Channels.newInputStream(raw).readAllBytes(), StandardCharsets.UTF_8);
                } catch (java.net.SocketException reset) {
                    // the server closed with the rest of the body unread, and the kernel may then reset the
                    // connection before its answer is read: the reset itself says it stopped reading
                    answer = null;
                }
                writer.join();
                assertThat(cutOff).as("the server stopped reading the body").isTrue();
                if (answer != null) {
                    assertThat(answer).startsWith("HTTP/1.1 400").contains("more than 1048576 bytes");
                }
            }

            for (int i = 0; i < Daemon.MAX_API_CONNECTIONS + 20; i++) {
                flood.add(SocketChannel.open(UnixDomainSocketAddress.of(socket)));
            }
            Thread.sleep(500);
            assertThat(daemon.apiConnections()).isEqualTo(Daemon.MAX_API_CONNECTIONS);
            for (SocketChannel channel : flood) {
                channel.close();
            }
            assertThat(client.list()).isEmpty(); // served once the flood is gone
        } finally {
            for (SocketChannel channel : flood) {
                channel.close();
            }
            http.stop();
        }
    }

    @Test
    void malformedRequests_getJsonErrors() throws Exception {
        HttpClient http = new HttpClient();
        http.start();
        try {
            assertThat(send(http, HttpMethod.POST, "/v1/mounts", "{not json")).satisfies(r -> {
                assertThat(r.getStatus()).isEqualTo(400);
                assertThat(r.getContentAsString()).contains("not valid JSON").contains("INVALID_ARGUMENT");
            });
            assertThat(send(http, HttpMethod.POST, "/v1/mounts", "")).satisfies(r -> {
                assertThat(r.getStatus()).isEqualTo(400);
                assertThat(r.getContentAsString()).contains("needs a JSON object body");
            });
            // issue 12 D16: null was a 500 with a Java NPE; a misspelled field was ignored (a writable mount)
            for (String endpoint : new String[]{"/v1/mounts", "/v1/commits", "/v1/exports"}) {
                assertThat(send(http, HttpMethod.POST, endpoint, "null")).satisfies(r -> {
                    assertThat(r.getStatus()).isEqualTo(400);
                    assertThat(r.getContentAsString()).contains("needs a JSON object body").doesNotContain("Exception");
                });
            }
            assertThat(send(http, HttpMethod.POST, "/v1/mounts", "{\"templateId\":\"base\",\"buildId\":\"" + build
                    + "\",\"mountPath\":\"" + dir.resolve("m") + "\",\"readonly\":true}")).satisfies(r -> {
                        assertThat(r.getStatus()).isEqualTo(400);
                        assertThat(r.getContentAsString()).contains("unknown field 'readonly'").contains("readOnly");
                    });
            assertThat(dir.resolve("m")).doesNotExist();
            String longName = "n".repeat(5000);
            assertThat(send(http, HttpMethod.POST, "/v1/exports", "{\"templateId\":\"base\",\"buildId\":\"" + build
                    + "\",\"socket\":\"" + dir.resolve("e.sock") + "\",\"name\":\"" + longName + "\"}")).satisfies(r -> {
                        assertThat(r.getStatus()).isEqualTo(400);
                        assertThat(r.getContentAsString()).contains("at most 4096 bytes").hasSizeLessThan(400);
                    });
            assertThat(send(http, HttpMethod.POST, "/v1/exports", "{\"templateId\":\"base\",\"buildId\":\"" + build
                    + "\",\"socket\":\"" + dir.resolve("e.sock") + "\",\"maxConnections\":5000}")).satisfies(r -> {
                        assertThat(r.getStatus()).isEqualTo(400);
                        assertThat(r.getContentAsString()).contains("max connections must be between 1 and 4096");
                    });
            assertThat(send(http, HttpMethod.POST, "/v1/mounts",
                    "{\"templateId\":\"base\",\"buildId\":\"" + build + "\",\"mountPath\":\"/tmp/x\",\"engine\":\"vmware\"}"))
                    .satisfies(r -> {
                        assertThat(r.getStatus()).isEqualTo(400);
                        assertThat(r.getContentAsString()).contains("engine 'vmware' is unknown").contains("builtin, qemu-nbd");
                    });
            assertThat(send(http, HttpMethod.DELETE, "/v1/mounts", null).getContentAsString()).contains("needs ?path=");
            assertThat(send(http, HttpMethod.GET, "/v2/nothing", null).getStatus()).isEqualTo(404);
            assertThat(send(http, HttpMethod.PUT, "/v1/mounts", null).getStatus()).isEqualTo(400);
        } finally {
            http.stop();
        }
    }

    @Test
    void theSocketIsForRootOnly_andASecondDaemonIsRefused() throws IOException {
        assertThat(Files.getPosixFilePermissions(socket)).extracting(Object::toString)
                .containsExactlyInAnyOrder("OWNER_READ", "OWNER_WRITE");
        TmountHost second = TmountHost.open(new MountManagerConfig(dir.resolve("state2"), dir.resolve("run2"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)), dir.resolve("builds2"));
        assertThatThrownBy(() -> Daemon.start(second, socket, "test", "x"))
                .hasMessageContaining("another tmount daemon is already listening on " + socket);
    }

    @Test
    void noDaemon_isAClearErrorSayingHowToStartOne() {
        assertThatThrownBy(() -> DaemonClient.connect(dir.resolve("none.sock")))
                .hasMessageContaining("no tmount daemon is listening on").hasMessageContaining("tmount serve");
    }

    private ContentResponse send(HttpClient http, HttpMethod method, String path, String body) throws Exception {
        var request = http.newRequest("http://localhost" + path).method(method).transport(new Transport.TCPUnix(socket));
        if (body != null) {
            request.body(new StringRequestContent("application/json", body));
        }
        return request.send();
    }

    private static void expect(Runnable call, TmountException.Kind kind, String message) {
        assertThatThrownBy(call::run).isInstanceOf(TmountException.class).hasMessageContaining(message)
                .satisfies(e -> assertThat(((TmountException) e).kind()).isEqualTo(kind));
    }

    private final List<String> buildLog = new CopyOnWriteArrayList<>();

    private void busyboxBase() throws IOException {
        new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("base"), BuildId.of("base-1"),
                BusyboxTree.create(dir.resolve("busybox")), null);
    }

    @Test
    void aBuildStepQuieterThanTheClientsSilenceLimit_keepsTheBuildAlive() throws IOException {
        busyboxBase();
        // 3 s of silence against a 1.5 s limit: only the daemon's WAIT lines keep the exchange going
        BuildResult result = client.build(new BuildRequest("""
                template: app
                from: {template: base, build: base-1}
                steps:
                  - {type: RUN, args: ["sleep 3; echo woke up"]}
                """, dir.toAbsolutePath().toString(), "quiet-1"), buildLog::add, Duration.ofMillis(1500));
        assertThat(result.build()).isEqualTo(BuildId.of("quiet-1"));
        assertThat(buildLog).contains("  | woke up").noneMatch(l -> l.contains("WAIT"));
    }

    @Test
    void stoppingTheDaemon_duringARunStep_endsTheStep_andLeavesNothingRunning() throws Exception {
        // issue 12 D19: the step's processes outlived a SIGTERM'ed daemon, holding the build root and its device
        busyboxBase();
        CompletableFuture<Throwable> ended = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                client.build(new BuildRequest("""
                        template: app
                        from: {template: base, build: base-1}
                        steps:
                          - {type: RUN, args: ["sleep 300"]}
                        """, dir.toAbsolutePath().toString(), "stopped-1"), buildLog::add, Duration.ofSeconds(60));
                ended.complete(null);
            } catch (Throwable t) {
                ended.complete(t);
            }
        });
        String builds = dir.resolve("builds").toString();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (stepsUnder(builds).noneMatch(p -> p.info().commandLine().orElse("").contains("sleep 300"))
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        List<ProcessHandle> steps = stepsUnder(builds).toList();
        assertThat(steps).as("the RUN step is running").isNotEmpty();

        try {
            long start = System.nanoTime();
            daemon.close();
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
            assertThat(steps).allSatisfy(p -> assertThat(p.isAlive()).as("pid %d", p.pid()).isFalse());
            assertThat(ended.get(10, TimeUnit.SECONDS)).as("the client sees the build end").isNotNull();
            assertThat(store.exists(BuildId.of("stopped-1"))).isFalse();
        } finally { // a failing run must not leave the step behind
            steps.forEach(ProcessHandle::destroyForcibly);
        }
    }

    /** Processes whose command line names a folder under {@code builds}: RUN steps, with their descendants. */
    private static java.util.stream.Stream<ProcessHandle> stepsUnder(String builds) {
        return ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains(builds + "/"))
                .flatMap(p -> java.util.stream.Stream.concat(java.util.stream.Stream.of(p), p.descendants()));
    }

    @Test
    void buildStepTextThatLooksLikeTheResult_isOnlyLog() throws IOException {
        busyboxBase();
        BuildResult result = client.build(new BuildRequest("""
                template: app
                from: {template: base, build: base-1}
                steps:
                  - type: RUN
                    args:
                      - |
                        echo \\
                        OK {"build":"forged"}
                  - {type: RUN, args: ["echo 'ERROR {\\"error\\":\\"forged\\"}'"]}
                """, dir.toAbsolutePath().toString(), "honest-1"), buildLog::add, Duration.ofSeconds(30));
        assertThat(result.build()).isEqualTo(BuildId.of("honest-1"));
        assertThat(buildLog).contains("OK {\"build\":\"forged\"}", "  | ERROR {\"error\":\"forged\"}");
    }
}
