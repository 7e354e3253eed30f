package io.tmount.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.daemon.Daemon;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountManagerConfig;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateStore;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** tmount doctor on this host: what it finds, what it says to do, and its exit status. */
class CliDoctorTest {

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

    private Map<String, String> env(String store) {
        return Map.of("TMOUNT_STATE_DIR", dir.resolve("state").toString(), "TMOUNT_RUNTIME_DIR",
                dir.resolve("run").toString(), "TEMPLATE_STORAGE_URL", store);
    }

    private static Map<String, JsonNode> byCheck(String json) throws Exception {
        Map<String, JsonNode> findings = new HashMap<>();
        new ObjectMapper().readTree(json).forEach(f -> findings.put(f.path("check").asText(), f));
        return findings;
    }

    @Test
    void aWorkingHost_passes_withTheDaemonAsAWarningUntilOneRuns() throws Exception {
        Map<String, String> env = env("file://" + dir.resolve("store"));
        String build = tmount(env, "template", "create", "--template", "base", "--from-dir",
                Trees.sample(dir.resolve("src"), 1).toString()).out().strip();
        Result alone = tmount(env, "doctor", "--json");
        assertThat(alone.status()).as(alone.out() + alone.err()).isZero();
        Map<String, JsonNode> findings = byCheck(alone.out());
        assertThat(findings.get("FUSE").path("status").asText()).isEqualTo("OK");
        assertThat(findings.get("loop devices").path("status").asText()).isEqualTo("OK");
        assertThat(findings.get("program nbdfuse").path("detail").asText()).matches(".*nbdfuse.*\\d+\\.\\d+.*");
        assertThat(findings.get("program e2fsck").path("detail").asText()).contains("1.47");
        assertThat(findings.get("template store").path("detail").asText()).contains("reachable, 1 builds");
        assertThat(findings.get("state dir").path("status").asText()).isEqualTo("OK");
        assertThat(findings.get("daemon").path("status").asText()).isEqualTo("WARN");
        assertThat(findings.get("daemon").path("fix").asText()).contains("tmount serve");

        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
             Daemon daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"),
                     dir.resolve("run"), store, Attachers.onThisHost(2), Duration.ofMillis(500)),
                     dir.resolve("builds")), dir.resolve("run/tmount.sock"), "test", "s")) {
            Result text = tmount(env, "doctor");
            assertThat(text.status()).isZero();
            assertThat(text.out()).contains("CHECK").contains("daemon").contains("0 mounts");
            assertThat(byCheck(tmount(env, "doctor", "--json").out()).get("daemon").path("status").asText())
                    .isEqualTo("OK");
        }
        assertThat(build).isNotEmpty();
    }

    @Test
    void anUnusableStore_fails_andSaysWhatToCheck() throws Exception {
        Path notAFolder = Files.writeString(dir.resolve("file"), "x");
        Result result = tmount(env("file://" + notAFolder.resolve("store")), "doctor");
        assertThat(result.status()).isEqualTo(1);
        assertThat(result.out()).contains("template store").contains("FAIL").contains("to do:")
                .contains("check the store URL");
    }
}
