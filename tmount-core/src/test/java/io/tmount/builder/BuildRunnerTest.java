package io.tmount.builder;

import io.tmount.ByteSize;
import io.tmount.compress.Compression;
import io.tmount.image.WriteFormat;
import io.tmount.TmountException;
import io.tmount.device.Attachers;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountManagerConfig;
import io.tmount.mount.MountOptions;
import io.tmount.mount.TrustPolicy;
import io.tmount.store.BuildId;
import io.tmount.store.BuildSummary;
import io.tmount.store.StepBuild;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.BusyboxTree;
import io.tmount.testing.HostState;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Template builds with real mounts: the seed's MOUNT/RUN/UNMOUNT example and every step, working and failing. */
@ExtendWith(NoLeftovers.class)
class BuildRunnerTest {

    @TempDir
    Path dir;

    private TemplateStore store;
    private MountManager manager;
    private BuildRunner runner;
    private final List<String> log = new ArrayList<>();

    @BeforeEach
    void templates() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        TemplateCatalog catalog = new TemplateCatalog(store, dir.resolve("scratch"));
        // the base the build writes into: a shell, and the folders the seed's example writes to
        Path base = BusyboxTree.create(dir.resolve("base"));
        Files.createDirectories(base.resolve("current-build/config"));
        catalog.create(TemplateId.of("base"), BuildId.of("base-1"), base, ByteSize.parse("48M"));
        // the template the example takes data from
        Path source = dir.resolve("source");
        Files.createDirectories(source.resolve("app/bin"));
        Files.createDirectories(source.resolve("config"));
        Files.writeString(source.resolve("app/bin/server"), "#!/bin/sh\necho serving\n");
        Files.writeString(source.resolve("app/README"), "the app\n");
        Files.writeString(source.resolve("config/app.conf"), "port = 8080\n");
        catalog.create(TemplateId.of("source-template"), BuildId.of("build-abc123"), source, null);
        manager = MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)));
        runner = new BuildRunner(manager, dir.resolve("builds"));
    }

    @AfterEach
    void close() throws IOException {
        manager.close();
        store.close();
    }

    private BuildResult build(String yaml) {
        return runner.run(new TemplateFileParser().parse(yaml, dir), null, log::add);
    }

    /** Reads a file of a build through a read-only mount. */
    private String read(BuildId build, String path) throws IOException {
        return BuildFiles.read(manager, TemplateId.of("my-template"), build, dir.resolve("check"), path);
    }

    @Test
    void theSeedsExample_mountsCopiesAndUnmounts() throws IOException {
        BuildResult result = build("""
                template: my-template
                from: {template: base, build: base-1}
                steps:
                  - type: MOUNT
                    args: ["source-template", "build-abc123", "/mnt/source"]
                  - type: RUN
                    args: ["cp -r /mnt/source/app /current-build/"]
                  - type: RUN
                    args: ["cat /mnt/source/config/app.conf > /current-build/config/imported.conf"]
                  - type: UNMOUNT
                    args: ["/mnt/source"]
                """);
        // a layer per RUN, over the base; the MOUNT and UNMOUNT make none; the new build is a layer over the last
        assertThat(result.steps()).isEqualTo(4);
        List<StepBuild> layers = result.layers();
        assertThat(layers).extracting(StepBuild::number, s -> s.build() != null).containsExactly(
                org.assertj.core.groups.Tuple.tuple(1, false), org.assertj.core.groups.Tuple.tuple(2, true),
                org.assertj.core.groups.Tuple.tuple(3, true), org.assertj.core.groups.Tuple.tuple(4, false));
        assertThat(layers.get(1).build()).isNotEqualTo(layers.get(2).build());
        // the last layer: what the UNMOUNT left (tmount removed the mount folder it had made), over step 3's build
        assertThat(store.metadata(result.parent()).orElseThrow().parentBuildId()).isEqualTo(layers.get(2).build());
        assertThat(store.metadata(layers.get(2).build()).orElseThrow().parentBuildId()).isEqualTo(layers.get(1).build());
        assertThat(store.metadata(layers.get(1).build()).orElseThrow().parentBuildId()).isEqualTo(BuildId.of("base-1"));
        assertThat(store.metadata(result.build()).orElseThrow().steps()).isEqualTo(layers);
        assertThat(read(layers.get(1).build(), "/current-build/app/README")).isEqualTo("the app\n");
        assertThat(read(layers.get(1).build(), "/current-build/config/imported.conf")).isNull(); // step 3's, not yet
        assertThat(read(result.build(), "/current-build/app/README")).isEqualTo("the app\n");
        assertThat(read(result.build(), "/current-build/app/bin/server")).contains("echo serving");
        assertThat(read(result.build(), "/current-build/config/imported.conf")).isEqualTo("port = 8080\n");
        assertThat(read(result.build(), "/mnt/source/config/app.conf")).isNull(); // the mounted template is not in the layer
        assertThat(store.metadata(result.build()).orElseThrow().templateId()).isEqualTo(TemplateId.of("my-template"));
        assertThat(log).anyMatch(l -> l.startsWith("step 1/4 MOUNT source-template build-abc123 /mnt/source"))
                .anyMatch(l -> l.matches("step 4/4 done in \\d+ ms"))
                .anyMatch(l -> l.startsWith("built template my-template build " + result.build()));
        assertThat(manager.listMounts()).isEmpty();
        assertThat(dir.resolve("builds")).isEmptyDirectory();
    }

    @Test
    void runSeesEnvWorkdirAndUser_andMountsLeftMountedAreUnmountedBeforeTheCommit() throws IOException {
        BuildResult result = build("""
                template: my-template
                from: {template: base, build: base-1}
                steps:
                  - {type: ENV, args: [GREETING, hello world]}
                  - {type: WORKDIR, args: [/work/dir]}
                  - {type: RUN, args: ["echo \\"$GREETING\\" > greeting; pwd > where; id -u > uid"]}
                  - {type: USER, args: [nobody]}
                  - {type: RUN, args: ["id -u > /tmp/as-nobody"]}
                  - {type: MOUNT, args: [source-template, build-abc123, /mnt/src2]}
                """);
        assertThat(read(result.build(), "/work/dir/greeting")).isEqualTo("hello world\n");
        assertThat(read(result.build(), "/work/dir/where")).isEqualTo("/work/dir\n");
        assertThat(read(result.build(), "/work/dir/uid")).isEqualTo("0\n");
        assertThat(read(result.build(), "/tmp/as-nobody")).isEqualTo("65534\n");
        assertThat(read(result.build(), "/mnt/src2/config/app.conf")).isNull();
        assertThat(log).anyMatch(l -> l.startsWith("unmounting /mnt/src2"));
    }

    @Test
    void runHasItsOwnPidNamespace_andAWritableMountCanBeChanged() throws IOException {
        BuildResult result = build("""
                template: my-template
                from: {template: base, build: base-1}
                steps:
                  - {type: MOUNT, args: [source-template, build-abc123, /mnt/rw, --rw]}
                  - {type: RUN, args: ["echo changed > /mnt/rw/config/app.conf && cat /mnt/rw/config/app.conf > /copied; ps > /ps.txt"]}
                  - {type: UNMOUNT, args: [/mnt/rw]}
                """);
        assertThat(read(result.build(), "/copied")).isEqualTo("changed\n");
        String ps = read(result.build(), "/ps.txt");
        assertThat(ps.lines().filter(l -> !l.contains("PID"))).hasSizeLessThan(6); // only the step's own processes
        // and the source build itself is untouched
        Path mnt = dir.resolve("src");
        manager.mountTemplate(TemplateId.of("source-template"), BuildId.of("build-abc123"), mnt, MountOptions.defaults().withReadOnly(true));
        try {
            assertThat(mnt.resolve("config/app.conf")).hasContent("port = 8080");
        } finally {
            manager.unmountTemplate(mnt);
        }
    }

    @Test
    void runIsConfinedToTheRoot_andTheBuildEnvNeverReachesTheHostsTools() throws IOException {
        // chroot, mknod and mount as a breakout attempt would use them: each must be refused (the root has no /dev/null)
        BuildResult result = build("""
                template: my-template
                from: {template: base, build: base-1}
                steps:
                  - {type: ENV, args: [LD_PRELOAD, /no-such-library.so]}
                  - {type: RUN, args: ["busybox chroot / /bin/true; echo chroot=$? > /escape"]}
                  - {type: RUN, args: ["busybox mknod /disk b 8 0; echo mknod=$? >> /escape"]}
                  - {type: RUN, args: ["busybox mount -t tmpfs t /mnt; echo mount=$? >> /escape"]}
                  - {type: RUN, args: ["busybox mknod /fifo p; echo fifo=$? >> /escape"]}
                  - {type: RUN, args: ["grep CapBnd /proc/self/status | cut -f2 > /caps; echo \\"$LD_PRELOAD\\" > /env"]}
                  - {type: RUN, args: ["grep NoNewPrivs /proc/self/status | cut -f2 > /nnp"]}
                """);
        assertThat(read(result.build(), "/escape")).isEqualTo("chroot=1\nmknod=1\nmount=1\nfifo=0\n");
        long bounding = Long.parseUnsignedLong(read(result.build(), "/caps").strip(), 16);
        assertThat(bounding & (1L << 18)).as("CAP_SYS_CHROOT").isZero();
        assertThat(bounding & (1L << 21)).as("CAP_SYS_ADMIN").isZero();
        assertThat(bounding & (1L << 27)).as("CAP_MKNOD").isZero();
        assertThat(bounding & 1L).as("CAP_CHOWN, which package installs need").isNotZero();
        assertThat(read(result.build(), "/nnp")).as("no_new_privs").isEqualTo("1\n");
        assertThat(read(result.build(), "/env")).isEqualTo("/no-such-library.so\n"); // set inside the root
        // the host's unshare and capsh (dynamically linked) would have complained about a preload they were given
        assertThat(log).noneMatch(l -> l.contains("ld.so") || l.contains("preloaded"));
    }

    @Test
    void underAnUntrustingPolicy_buildsRunOnUserspaceMounts_andCommitWhatTheirStepsWrote() throws IOException {
        manager.close();
        manager = MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(4), Duration.ofMillis(500))
                .withTrust(new TrustPolicy(TrustPolicy.Trust.UNTRUSTED, java.util.Map.of())));
        runner = new BuildRunner(manager, dir.resolve("builds"));
        BuildResult result = build("""
                template: my-template
                from: {template: base, build: base-1}
                steps:
                  - {type: MOUNT, args: [source-template, build-abc123, /mnt/source]}
                  - {type: RUN, args: ["cp -r /mnt/source/app /current-build/ && grep fuse /proc/mounts | cut -d' ' -f3 | sort -u > /fs"]}
                  - {type: UNMOUNT, args: [/mnt/source]}
                  - {type: RUN, args: ["echo written > /current-build/config/new.conf"]}
                """);
        assertThat(read(result.build(), "/current-build/app/README")).isEqualTo("the app\n");
        assertThat(read(result.build(), "/current-build/config/new.conf")).isEqualTo("written\n");
        // the root and the mounted template were both fuse2fs mounts
        assertThat(read(result.build(), "/fs")).contains("fuse.fuse2fs");
    }

    @Test
    void runSteps_haveNoNetworkButLoopback_unlessTheStepOrTheTemplateAsks() throws IOException {
        long hostInterfaces;
        try (var interfaces = Files.list(Path.of("/sys/class/net"))) {
            hostInterfaces = interfaces.count();
        }
        assertThat(hostInterfaces).as("this test needs a host with a network interface").isGreaterThan(1);
        BuildResult result = build("""
                template: my-template
                from: {template: base, build: base-1}
                steps:
                  - {type: RUN, args: ["tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /isolated"]}
                  - {type: RUN, args: ["cat /sys/class/net/lo/operstate > /lo 2>&1 || busybox ip link show lo > /lo"]}
                  - {type: RUN, args: [--network, "tail -n +3 /proc/net/dev | wc -l > /networked"]}
                """);
        assertThat(read(result.build(), "/isolated")).isEqualTo("lo\n");
        assertThat(read(result.build(), "/lo")).contains("UP");
        assertThat(Long.parseLong(read(result.build(), "/networked").strip())).isEqualTo(hostInterfaces);

        BuildResult everyStep = build("""
                template: my-template
                from: {template: base, build: base-1}
                network: true
                steps:
                  - {type: RUN, args: ["tail -n +3 /proc/net/dev | wc -l > /networked"]}
                """);
        assertThat(Long.parseLong(read(everyStep.build(), "/networked").strip())).isEqualTo(hostInterfaces);
    }

    @Test
    void aRootThatCannotBeTakenDownAfterTheCommit_stillReportsTheStoredBuild() throws IOException {
        // the log line before the commit is the moment to open a file in the build root and keep it open
        List<FileChannel> held = new ArrayList<>();
        BuildLog holding = line -> {
            log.add(line);
            if (line.matches("step 1/1 stored as build .*")) {
                try (var folders = Files.list(dir.resolve("builds"))) {
                    Path root = folders.findFirst().orElseThrow().resolve("root");
                    held.add(FileChannel.open(root.resolve("held.txt"), StandardOpenOption.CREATE, StandardOpenOption.WRITE));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        BuildResult result;
        try {
            result = runner.run(new TemplateFileParser().parse("""
                    template: my-template
                    from: {template: base, build: base-1}
                    steps:
                      - {type: RUN, args: ["echo stored > /stored.txt"]}
                    """, dir), BuildId.of("held-1"), holding);
            assertThat(log).anyMatch(l -> l.startsWith("warning: the build root at"));
            assertThat(manager.listMounts()).hasSize(1); // the busy root stays mounted, visible to the operator
        } finally {
            for (FileChannel channel : held) {
                channel.close();
            }
            manager.unmountAll();
        }
        assertThat(result.build()).isEqualTo(BuildId.of("held-1"));
        assertThat(read(result.build(), "/stored.txt")).isEqualTo("stored\n");
    }

    @Test
    void leftoversOfACrashedBuild_areRemovedAtTheNextStart_butNotOtherStateDirs() throws Exception {
        // what a daemon killed during a fromEmpty build leaves: its folder, with the loop-mounted root inside
        Path mine = Files.createDirectories(dir.resolve("builds/build-123"));
        Files.writeString(mine.resolve("owner"), dir.resolve("state").toString());
        Path image = mine.resolve("rootfs.ext4");
        Run.ok("truncate", "-s", "16M", image.toString());
        Run.ok("mkfs.ext4", "-q", image.toString());
        Files.createDirectories(mine.resolve("root"));
        Run.ok("mount", "-o", "loop,nosuid,nodev", image.toString(), mine.resolve("root").toString());
        Path theirs = Files.createDirectories(dir.resolve("builds/build-456"));
        Files.writeString(theirs.resolve("owner"), "/var/lib/another-tmount");
        // issue 12 D9: a RUN step outlived the daemon's crash, holding the build root's namespace and loop device
        Process step = new ProcessBuilder("unshare", "--pid", "--fork", "--kill-child", "sh", "-c", "sleep 300 & wait",
                "step", mine.resolve("root").toString()).start();
        for (int i = 0; i < 100 && step.descendants().noneMatch(p -> p.info().command().orElse("").endsWith("sleep")); i++) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
        List<ProcessHandle> all = Stream.concat(Stream.of(step.toHandle()),
                step.descendants()).toList();

        try {
            runner.removeLeftovers();
            assertThat(all).allSatisfy(p -> assertThat(p.isAlive()).as("pid %d", p.pid()).isFalse());
            assertThat(mine).doesNotExist();
            assertThat(theirs.resolve("owner")).exists();
            assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(mine.toString()));
        } finally { // a failed run must leave neither the step nor the mount behind
            all.forEach(ProcessHandle::destroyForcibly);
            if (Files.isDirectory(mine.resolve("root"))) {
                new ProcessBuilder("umount", "-l", mine.resolve("root").toString()).start().waitFor();
            }
        }
    }

    @Test
    void aBuildOverACompressedBase_mountingACompressedTemplate_isWrittenInTheFormatAsked() throws IOException {
        TemplateCatalog catalog = new TemplateCatalog(store, dir.resolve("scratch"));
        Path base = BusyboxTree.create(dir.resolve("zbase"));
        Files.createDirectories(base.resolve("current-build/config"));
        catalog.create(TemplateId.of("zbase"), BuildId.of("zbase-1"), base, ByteSize.parse("48M"),
                new WriteFormat(Compression.ZSTD, 0, 0, null));
        Path source = Files.createDirectories(dir.resolve("zsource/config"));
        Files.writeString(source.resolve("app.conf"), "port = 9090\n");
        catalog.create(TemplateId.of("zsource"), BuildId.of("zsource-1"), dir.resolve("zsource"), null,
                new WriteFormat(Compression.LZ4, 0, 0, null));
        BuildResult result = runner.run(new TemplateFileParser().parse("""
                template: my-template
                from: {template: zbase, build: zbase-1}
                steps:
                  - {type: MOUNT, args: [zsource, zsource-1, /mnt/source]}
                  - {type: RUN, args: ["cat /mnt/source/config/app.conf > /current-build/config/imported.conf"]}
                  - {type: UNMOUNT, args: [/mnt/source]}
                """, dir), null, new WriteFormat(Compression.LZ4, 0, 0, 5), log::add);
        assertThat(read(result.build(), "/current-build/config/imported.conf")).isEqualTo("port = 9090\n");
        var report = io.tmount.image.BuildReport.of(store, result.build());
        assertThat(report.headerVersion()).isEqualTo(5);
        BuildId run = result.layers().get(1).build(); // the RUN's layer holds the data; the new build is a header over it
        assertThat(report.layers()).filteredOn(l -> run.equals(l.build())).singleElement()
                .satisfies(l -> assertThat(l.compression()).isEqualTo("lz4"));
        assertThat(store.list()).filteredOn(b -> b.buildId().equals(result.build())).singleElement()
                .satisfies(b -> assertThat(b.storedBytes()).isZero());
        assertThat(report.layers()).filteredOn(l -> BuildId.of("zbase-1").equals(l.build())).singleElement()
                .satisfies(l -> assertThat(l.compression()).isEqualTo("zstd"));
    }

    @Test
    void fromEmpty_withCopyFromTheContext() throws IOException {
        Path context = Files.createDirectories(dir.resolve("ctx/files"));
        Files.writeString(context.resolve("hello.txt"), "from the context\n");
        BuildResult result = build("""
                template: my-template
                fromEmpty: {size: 32M}
                context: ctx
                steps:
                  - {type: COPY, args: [files, /opt/]}
                  - {type: COPY, args: [files/hello.txt, /etc/motd]}
                """);
        // an empty base build, then a layer per COPY, then the new build over them
        assertThat(store.exists(result.build())).isTrue();
        assertThat(io.tmount.image.BuildLayout.read(store, result.build()).header().generation()).isEqualTo(3);
        BuildId empty = store.metadata(result.layers().getFirst().build()).orElseThrow().parentBuildId();
        assertThat(io.tmount.image.BuildLayout.read(store, empty).header().generation()).isZero();
        assertThat(log).contains("empty filesystem of 32.0 MiB: stored as build " + empty);
        assertThat(read(result.build(), "/opt/files/hello.txt")).isEqualTo("from the context\n");
        assertThat(read(result.build(), "/etc/motd")).isEqualTo("from the context\n");
    }

    @Test
    void jsonTemplateFiles_areAccepted() throws IOException {
        BuildResult result = build("""
                {"template": "my-template", "from": {"template": "base", "build": "base-1"},
                 "steps": [{"type": "RUN", "args": ["echo json > /from-json"]}]}
                """);
        assertThat(read(result.build(), "/from-json")).isEqualTo("json\n");
    }

    @Test
    void everyFailingStep_leavesNoMountOverlayOrStoreObjectBehind() throws IOException {
        Files.createDirectories(dir.resolve("ctx"));
        Files.writeString(dir.resolve("secret"), "outside the context");
        List<String> before = store.list().stream().map(BuildSummary::buildId).map(BuildId::value).toList();
        String header = "template: my-template\nfrom: {template: base, build: base-1}\ncontext: ctx\nsteps:\n"
                + "  - {type: MOUNT, args: [source-template, build-abc123, /mnt/source]}\n";
        record Case(String step, String message) {
        }
        List<Case> cases = List.of(
                new Case("{type: RUN, args: [\"echo some output; exit 3\"]}", "step 2 (RUN echo some output; exit 3): the command exited with 3; its last output: some output"),
                new Case("{type: MOUNT, args: [source-template, missing-build, /mnt/x]}", "step 2 (MOUNT source-template missing-build /mnt/x): build 'missing-build' of template 'source-template' not found"),
                new Case("{type: MOUNT, args: [other-template, build-abc123, /mnt/x]}", "step 2 (MOUNT other-template build-abc123 /mnt/x): build 'build-abc123' belongs to template 'source-template'"),
                new Case("{type: UNMOUNT, args: [/mnt/never]}", "step 2 (UNMOUNT /mnt/never): /mnt/never is not mounted by this build (mounted: /mnt/source)"),
                new Case("{type: MOUNT, args: [source-template, build-abc123, /../../escape]}", "step 2 (MOUNT source-template build-abc123 /../../escape): path '/../../escape' leaves the build root"),
                new Case("{type: COPY, args: [../secret, /x]}", "step 2 (COPY ../secret /x): COPY source '../secret' is not inside the build context"),
                new Case("{type: COPY, args: [., /../../x]}", "leaves the build root"),
                new Case("{type: USER, args: [ghost]}", "step 2 (USER ghost): no user 'ghost' in the build root's /etc/passwd"));
        for (Case c : cases) {
            assertThatThrownBy(() -> build(header + "  - " + c.step() + "\n"))
                    .as(c.step()).isInstanceOf(TmountException.class).hasMessageContaining(c.message());
            assertThat(manager.listMounts()).as(c.step()).isEmpty();
            assertThat(store.list().stream().map(BuildSummary::buildId).map(BuildId::value).toList()).as(c.step())
                    .isEqualTo(before);
        }
        try (var states = Files.list(dir.resolve("state/mounts"))) {
            assertThat(states).isEmpty(); // no overlay left
        }
        assertThat(dir.resolve("builds")).isEmptyDirectory();
    }

    @Test
    void badTemplateFiles_areRefusedBeforeAnythingIsMounted() {
        TemplateFileParser parser = new TemplateFileParser();
        assertThatThrownBy(() -> parser.parse("template: t\nfrom: {template: base, build: base-1}\nsteps:\n  - {type: FROB}\n", dir))
                .hasMessage("step 1 (FROB): unknown step type 'FROB'; types: RUN, COPY, ENV, WORKDIR, USER, MOUNT, UNMOUNT");
        assertThatThrownBy(() -> parser.parse("template: t\nfrom: {template: base, build: base-1}\nsteps:\n  - {type: RUN, args: [a]}\n  - {type: MOUNT, args: [a, b]}\n", dir))
                .hasMessageContaining("step 2 (MOUNT): takes 3 to 4 arguments (template_id build_id mount_path [--rw]), got 2");
        assertThatThrownBy(() -> parser.parse("template: t\nfrom: {template: base, build: base-1}\nsteps:\n  - {type: MOUNT, args: [a, b, /c, --ro]}\n", dir))
                .hasMessageContaining("the fourth argument may only be --rw");
        assertThatThrownBy(() -> parser.parse("template: t\nsteps: []\n", dir)).hasMessageContaining("exactly one of from");
        assertThatThrownBy(() -> parser.parse("from: {template: b, build: c}\n", dir)).hasMessageContaining("needs template");
        assertThatThrownBy(() -> parser.parse("template: t\nfromEmpty: {size: lots}\n", dir)).hasMessageContaining("size 'lots'");
        assertThatThrownBy(() -> parser.parse("template: t\nfromEmpty: {size: 1G}\ncolour: blue\n", dir)).hasMessageContaining("unknown field 'colour'");
        assertThatThrownBy(() -> parser.parse("template: [unclosed\n", dir)).hasMessageContaining("not valid YAML");
        // issue 12 D11: a context anywhere on the host let COPY store host files (/etc/shadow) in a build
        for (String outside : new String[]{"../../../etc", "/root", "/etc"}) {
            assertThatThrownBy(() -> parser.parse("template: t\nfromEmpty: {size: 32M}\ncontext: " + outside
                    + "\nsteps:\n  - {type: COPY, args: [shadow, /shadow]}\n", dir))
                    .as(outside).hasMessageContaining("is outside the template file's folder");
        }
        try {
            Files.createSymbolicLink(dir.resolve("sneaky"), Path.of("/etc"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertThatThrownBy(() -> parser.parse("template: t\nfromEmpty: {size: 32M}\ncontext: sneaky\n", dir))
                .hasMessageContaining("is outside the template file's folder").hasMessageContaining("(it is /etc)");
        assertThatThrownBy(() -> runner.run(parser.parse("template: t\nfrom: {template: base, build: nope}\n", dir), null, BuildLog.NONE))
                .hasMessageContaining("build 'nope' of template 'base' not found");
        assertThat(manager.listMounts()).isEmpty();
    }
}
