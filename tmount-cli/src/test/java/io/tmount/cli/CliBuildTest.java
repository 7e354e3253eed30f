package io.tmount.cli;

import io.tmount.daemon.Daemon;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountManagerConfig;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateStore;
import io.tmount.testing.BusyboxTree;
import io.tmount.testing.NoLeftovers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** `tmount build -f` through the daemon, with its log streamed as the steps run. */
@ExtendWith(NoLeftovers.class)
class CliBuildTest {

    @TempDir
    Path dir;

    record Result(int status, String out, String err) {
    }

    private Result tmount(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(err), env);
        return new Result(status, out.toString(), err.toString());
    }

    @Test
    void buildThroughTheDaemon_streamsTheLog_andPrintsTheNewBuild() throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("TMOUNT_STATE_DIR", dir.resolve("state").toString());
        env.put("TMOUNT_RUNTIME_DIR", dir.resolve("run").toString());
        env.put("TEMPLATE_STORAGE_URL", "file://" + dir.resolve("store"));
        Path base = BusyboxTree.create(dir.resolve("base"));
        assertThat(tmount(env, "template", "create", "--template", "base", "--build", "base-1", "--from-dir",
                base.toString()).status()).isZero();
        Files.writeString(dir.resolve("template.yaml"), """
                template: app
                from: {template: base, build: base-1}
                steps:
                  - {type: RUN, args: ["echo built > /built.txt; echo to the log"]}
                """);
        Files.writeString(dir.resolve("broken.yaml"), """
                template: app
                from: {template: base, build: base-1}
                steps:
                  - {type: RUN, args: ["exit 7"]}
                """);
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
             Daemon daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"),
                     store, Attachers.onThisHost(4), Duration.ofMillis(500)), dir.resolve("builds")),
                     dir.resolve("run/tmount.sock"), "test", "s")) {
            Result built = tmount(env, "build", "-f", dir.resolve("template.yaml").toString(), "--build", "app-1");
            assertThat(built.status()).as(built.err()).isZero();
            assertThat(built.out()).isEqualTo("app-1\n");
            assertThat(built.err()).contains("step 1/1 RUN echo built").contains("  | to the log")
                    .containsPattern("step 1/1 done in \\d+ ms").contains("built template app build app-1");
            String inspected = tmount(env, "inspect", "app-1").out();
            assertThat(inspected).containsPattern("steps .*\n.*STEP +BUILD +INSTRUCTION\n +1 +[0-9a-f-]{36} +ran +RUN echo built");

            // the same template again: its step comes from the build cache; --no-cache runs it
            Result again = tmount(env, "build", "-f", dir.resolve("template.yaml").toString(), "--build", "app-2");
            assertThat(again.status()).as(again.err()).isZero();
            assertThat(again.err()).containsPattern("step 1/1 RUN echo built.*: cached, build [0-9a-f-]{36}")
                    .doesNotContain("  | to the log").contains("(1 step cached)");
            Result forced = tmount(env, "build", "-f", dir.resolve("template.yaml").toString(), "--build", "app-3",
                    "--no-cache");
            assertThat(forced.err()).contains("  | to the log").contains("(0 steps cached)");
            Result cached = tmount(env, "cache", "builds");
            assertThat(cached.out()).contains("RUN echo built").contains("the end of the steps").contains("2 entries");
            assertThat(tmount(env, "cache", "builds", "--json").out()).contains("\"template\" : \"app\"");

            // squashed: one layer, no parent, the same files
            Result squashed = tmount(env, "squash", "app", "app-1", "--build", "app-flat");
            assertThat(squashed.status()).as(squashed.err()).isZero();
            assertThat(tmount(env, "inspect", "app-flat").out()).contains("parent      -").contains("generation 0");
            Result flatBuilt = tmount(env, "build", "-f", dir.resolve("template.yaml").toString(), "--build",
                    "app-4", "--squash");
            assertThat(flatBuilt.status()).as(flatBuilt.err()).isZero();
            assertThat(tmount(env, "inspect", "app-4").out()).contains("generation 0");
            CliRunner.Result flatFile = new CliRunner(dir).run("cat", "app", "app-flat", "/built.txt"); // bytes out
            assertThat(flatFile.out()).as(flatFile.err()).isEqualTo("built\n");

            // prune: every build still uses its step's build, so nothing goes
            Result pruned = tmount(env, "cache", "prune", "--older-than", "0s");
            assertThat(pruned.status()).as(pruned.err()).isZero();
            assertThat(pruned.out()).contains("removed 1 entries and 0 builds").contains("kept 1 entries");
            assertThat(tmount(env, "cache", "prune").err()).contains("give one of --older-than and --keep-bytes");
            assertThat(tmount(env, "cache", "prune", "--older-than", "soon").err()).contains("is not a duration");

            Result broken = tmount(env, "build", "-f", dir.resolve("broken.yaml").toString());
            assertThat(broken.status()).isEqualTo(1);
            assertThat(broken.err()).contains("tmount: step 1 (RUN exit 7): the command exited with 7");
            Result bad = tmount(env, "build", "-f", dir.resolve("missing.yaml").toString());
            assertThat(bad.status()).isEqualTo(1);
            assertThat(daemon.manager().listMounts()).isEmpty();
        }
    }
}
