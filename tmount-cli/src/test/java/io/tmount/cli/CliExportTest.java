package io.tmount.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.daemon.Daemon;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountManagerConfig;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateStore;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** `tmount export`/`unexport`, through a daemon and in the foreground, consumed by real NBD clients. */
@ExtendWith(NoLeftovers.class)
class CliExportTest {

    @TempDir
    Path dir;

    record Result(int status, String out, String err) {
    }

    private Map<String, String> env() {
        return Map.of("TMOUNT_STATE_DIR", dir.resolve("state").toString(), "TMOUNT_RUNTIME_DIR",
                dir.resolve("run").toString(), "TEMPLATE_STORAGE_URL", "file://" + dir.resolve("store"));
    }

    private Result tmount(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(err), env());
        return new Result(status, out.toString(), err.toString());
    }

    @Test
    void exportListUnexport_throughADaemon() throws Exception {
        Path source = Trees.sample(dir.resolve("src"), 2);
        String build = tmount("template", "create", "--template", "base", "--from-dir", source.toString()).out().strip();
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
             Daemon daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"),
                     store, Attachers.onThisHost(4), Duration.ofMillis(500)), dir.resolve("builds")), dir.resolve("run/tmount.sock"), "test", "s")) {
            Result exported = tmount("export", "base", build, "--socket", dir.resolve("e.sock").toString(), "--name", "app");
            assertThat(exported.status()).as(exported.err()).isZero();
            String uri = exported.out().strip();
            assertThat(uri).isEqualTo("nbd+unix:///app?socket=" + dir.resolve("e.sock"));
            Run.ok("qemu-io", "-f", "raw", uri, "-c", "write -P 0x5a 0 4k", "-c", "read -P 0x5a 0 4k");

            Result raw = tmount("export", "--image", dir.resolve("src/etc/hostname").toString(), "--tcp", "127.0.0.1:0",
                    "--read-only", "--json");
            assertThat(raw.status()).as(raw.err()).isZero();
            String tcpUri = new ObjectMapper().readTree(raw.out()).path("uri").asText();
            assertThat(Run.ok("nbdinfo", "--size", tcpUri).stdout().strip())
                    .isEqualTo(String.valueOf(Files.size(dir.resolve("src/etc/hostname"))));

            assertThat(tmount("list").out()).contains("EXPORT").contains("app").contains("base " + build)
                    .contains("hostname").contains(uri);
            Result remote = tmount("export", "base", build, "--tcp", "0.0.0.0:10809");
            assertThat(remote.err()).contains("refusing to serve NBD on 0.0.0.0: only loopback addresses");
            assertThat(tmount("export", "base", build).err()).contains("--socket PATH").contains("--tcp HOST:PORT");

            // TLS required, through the API: TLS clients of the CA read it, a plain client is refused
            io.tmount.testing.TestPki pki = io.tmount.testing.TestPki.create(dir.resolve("pki"));
            Result secure = tmount("export", "base", build, "--tcp", "127.0.0.1:0", "--read-only", "--name", "tls",
                    "--tls-cert", pki.cert("server").toString(), "--tls-key", pki.key("server").toString(),
                    "--tls", "require", "--json");
            assertThat(secure.status()).as(secure.err()).isZero();
            String secureUri = new ObjectMapper().readTree(secure.out()).path("uri").asText();
            assertThat(secureUri).startsWith("nbds://127.0.0.1:");
            String withCa = secureUri.replace("nbds://127.0.0.1:", "nbds://localhost:") + "?tls-certificates="
                    + pki.clientDir(dir.resolve("client"), "ca", false);
            assertThat(Run.ok("nbdinfo", "--size", withCa).stdout().strip()).isNotEmpty();
            assertThat(Run.any("nbdinfo", "--size", secureUri.replace("nbds://", "nbd://")).succeeded()).isFalse();
            assertThat(tmount("export", "base", build, "--tcp", "127.0.0.1:0", "--tls", "require").err())
                    .contains("TLS needs a certificate and its key");
            assertThat(tmount("unexport", "tls").status()).isZero();

            assertThat(tmount("unexport", "app").out()).isEqualTo("stopped export app\n");
            assertThat(dir.resolve("e.sock")).doesNotExist();
            assertThat(tmount("unexport", "app").err()).contains("no export named 'app'");
        }
    }

    @Test
    void aForegroundExport_servesUntilSigterm_thenLeavesNothing() throws Exception {
        Path source = Trees.sample(dir.resolve("src"), 1);
        String build = tmount("template", "create", "--template", "base", "--from-dir", source.toString()).out().strip();
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process export = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "io.tmount.cli.Main", "--state-dir", dir.resolve("state").toString(),
                "--runtime-dir", dir.resolve("run").toString(), "--store", "file://" + dir.resolve("store"),
                "export", "base", build, "--socket", dir.resolve("fg.sock").toString(), "--foreground")
                .redirectError(dir.resolve("export.log").toFile()).start();
        try {
            // (on the test class path logback may print its own status lines first)
            var lines = new java.io.BufferedReader(new java.io.InputStreamReader(export.getInputStream()));
            String uri;
            do {
                uri = lines.readLine();
            } while (uri != null && !uri.startsWith("nbd"));
            assertThat(uri).as("%s", Files.exists(dir.resolve("export.log")) ? Files.readString(dir.resolve("export.log")) : "")
                    .isEqualTo("nbd+unix:///" + build + "?socket=" + dir.resolve("fg.sock"));
            Path copy = dir.resolve("copy.img");
            Run.ok("nbdcopy", uri, copy.toString());
            assertThat(Files.size(copy)).isPositive();
            // the state dir is the foreground export's: a second one is refused, pointing at the way out
            Result second = tmount("export", "base", build, "--socket", dir.resolve("x.sock").toString(), "--foreground");
            assertThat(second.err()).contains("is in use by another tmount process").contains("drop --foreground");
        } finally {
            export.destroy(); // SIGTERM
            assertThat(export.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(export.exitValue()).isZero();
        assertThat(dir.resolve("fg.sock")).doesNotExist();
        try (var left = Files.list(dir.resolve("state/exports"))) {
            assertThat(left).isEmpty();
        }
    }
}
