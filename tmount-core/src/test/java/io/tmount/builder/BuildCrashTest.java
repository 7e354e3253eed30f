package io.tmount.builder;

import io.tmount.ByteSize;
import io.tmount.device.Attachers;
import io.tmount.mount.Checkpoints;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountManagerConfig;
import io.tmount.os.MountTable;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.BusyboxTree;
import io.tmount.testing.HostState;
import io.tmount.testing.NoLeftovers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A daemon killed with SIGKILL inside each step type of a template build (at a named {@link Checkpoints} point, or
 * while a RUN step's command runs), then started again on the same state dir: the build is gone without a trace (no
 * mount, loop device, helper or step process, build folder, state or store object), and the same build then runs to
 * the end under the same id.
 */
@ExtendWith(NoLeftovers.class)
class BuildCrashTest {

    /** Not a checkpoint: the owner is killed while the RUN step's {@code sleep} runs. */
    private static final String RUNNING = "running";
    private static final BuildId BUILT = BuildId.of("b0000000-0000-4000-8000-0000000b0117");

    @TempDir
    Path dir;

    private Path storeDir;

    @BeforeEach
    void templates() throws IOException {
        storeDir = dir.resolve("store");
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open())) {
            TemplateCatalog catalog = new TemplateCatalog(store, dir.resolve("scratch"));
            Path base = BusyboxTree.create(dir.resolve("base"));
            Files.createDirectories(base.resolve("current-build/config"));
            catalog.create(TemplateId.of("base"), BuildId.of("base-1"), base, ByteSize.parse("48M"));
            Path source = Files.createDirectories(dir.resolve("source/config"));
            Files.writeString(source.resolve("app.conf"), "port = 8080\n");
            catalog.create(TemplateId.of("source"), BuildId.of("source-1"), dir.resolve("source"), null);
        }
        Path context = Files.createDirectories(dir.resolve("ctx/files"));
        Files.writeString(context.resolve("hello.txt"), "from the context\n");
    }

    /** Every step type over a mounted base; the RUN step sleeps when the owner is to be killed inside it. */
    private static String mountedBuild(boolean sleeping) {
        return """
                template: built
                from: {template: base, build: base-1}
                context: ctx
                steps:
                  - {type: MOUNT, args: [source, source-1, /mnt/source]}
                  - {type: COPY, args: [files, /opt/]}
                  - {type: ENV, args: [GREETING, hello]}
                  - {type: RUN, args: ["cp /mnt/source/config/app.conf /current-build/config/%s"]}
                  - {type: UNMOUNT, args: [/mnt/source]}
                  - {type: WORKDIR, args: [/srv/app]}
                """.formatted(sleeping ? " && sleep 300" : "");
    }

    /** A build from an empty filesystem: its root is loop-mounted by the build itself, not by the manager. */
    private static String emptyBuild() {
        return """
                template: built
                fromEmpty: {size: 32M}
                context: ctx
                steps:
                  - {type: MOUNT, args: [source, source-1, /mnt/source]}
                  - {type: COPY, args: [files, /opt/]}
                  - {type: UNMOUNT, args: [/mnt/source]}
                """;
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
            "mounted, build.step.mount",
            "mounted, build.step.copy",
            "mounted, running",
            "mounted, build.step.run",
            "mounted, build.step.unmount",
            "mounted, build.step.workdir",
            "mounted, " + Checkpoints.COMMIT_FROZEN,
            "empty, build.step.mount",
            "empty, build.step.copy",
    })
    void killedInsideABuild_theNextStartLeavesNoTrace_andTheBuildRunsAgain(String from, String point) throws Exception {
        Path templateFile = dir.resolve("template.yaml");
        Files.writeString(templateFile, from.equals("empty") ? emptyBuild() : mountedBuild(point.equals(RUNNING)));
        Process owner = killAt(point, templateFile);
        // what the dead owner left: its build root, and the MOUNT step's mount while it lasts
        // (the first commit, a layer for the COPY step, is made while the MOUNT step's template is mounted)
        int expected = point.equals("build.step.mount") || point.equals("build.step.copy")
                || point.equals(RUNNING) || point.equals("build.step.run") || point.equals(Checkpoints.COMMIT_FROZEN)
                ? 2 : 1;
        assertThat(MountTable.ofThisProcess().mountsUnder(dir.resolve("builds")))
                .filteredOn(m -> m.fsType().equals("ext4")).hasSize(expected);

        // started as the daemon starts: leftover RUN steps stopped once the state dir is locked, before recovery
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(storeDir).open());
             MountManager manager = MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"),
                     store, Attachers.onThisHost(4), Duration.ofMillis(500)),
                     new BuildLeftovers(dir.resolve("builds"), dir.resolve("state"))::stopSteps)) {
            BuildRunner runner = new BuildRunner(manager, dir.resolve("builds"));
            runner.removeLeftovers();

            assertThat(manager.listMounts()).isEmpty();
            assertThat(MountTable.ofThisProcess().mountsUnder(dir)).isEmpty();
            assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(dir.toString()));
            assertThat(ProcessHandle.allProcesses().filter(p -> HostState.cmdline(p.pid()).contains(dir.toString())))
                    .as("helpers or steps of the dead owner (pid %d)", owner.pid()).isEmpty();
            try (var left = Files.list(dir.resolve("builds"))) {
                assertThat(left).isEmpty();
            }
            try (var left = Files.list(dir.resolve("state/mounts"))) {
                assertThat(left).isEmpty();
            }
            assertThat(store.exists(BUILT)).isFalse();
            assertThat(storeDir.resolve(BUILT.value())).doesNotExist();

            List<String> log = new ArrayList<>();
            Files.writeString(templateFile, from.equals("empty") ? emptyBuild() : mountedBuild(false));
            BuildResult again = runner.run(new TemplateFileParser().parse(Files.readString(templateFile), dir), BUILT,
                    log::add);
            assertThat(again.build()).isEqualTo(BUILT);
            assertThat(store.exists(BUILT)).isTrue();
        }
    }

    /** Runs {@link BuildOwner} until it reaches {@code point} (or its RUN step sleeps) and kills it with SIGKILL. */
    private Process killAt(String point, Path templateFile) throws Exception {
        Path marker = dir.resolve("reached");
        Path output = dir.resolve("owner.log");
        Process owner = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                BuildOwner.class.getName(), dir.resolve("state").toString(), dir.resolve("run").toString(),
                storeDir.toString(), dir.resolve("builds").toString(), templateFile.toString(), BUILT.value(), point,
                marker.toString())
                .redirectErrorStream(true).redirectOutput(output.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!reached(point, marker, owner) && owner.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            if (!reached(point, marker, owner)) {
                owner.descendants().forEach(ProcessHandle::destroyForcibly); // a RUN step outlives its owner
                throw new AssertionError("the owner did not reach " + point + ":\n" + Files.readString(output));
            }
        } finally {
            owner.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: no cleanup of any kind
        }
        return owner;
    }

    private static boolean reached(String point, Path marker, Process owner) throws IOException {
        if (point.equals(RUNNING)) {
            // its own /proc cmdline: the JDK names a process by its executable, busybox here
            return owner.descendants().anyMatch(p -> HostState.cmdline(p.pid()).equals("sleep 300"));
        }
        return Files.exists(marker) && Files.readString(marker).equals(point);
    }
}
