package io.tmount.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.template.Ext4Images;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Progress output of the real command line: a bar with rate and ETA in a pseudo-terminal (util-linux script), JSON
 * lines with --progress=json, and nothing extra when stderr is not a terminal.
 */
@ExtendWith(NoLeftovers.class)
class CliProgressTest {

    @TempDir
    Path dir;

    private List<String> cli(String... args) {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "io.tmount.cli.Main", "--state-dir",
                dir.resolve("state").toString(), "--runtime-dir", dir.resolve("run").toString(), "--store",
                "file://" + dir.resolve("store")));
        command.addAll(List.of(args));
        return command;
    }

    /** Runs the command line in a pseudo-terminal; returns all it wrote there. */
    private String inTerminal(String... args) {
        String line = String.join(" ", cli(args).stream().map(a -> "'" + a.replace("'", "'\\''") + "'").toList());
        return Run.ok("env", "TERM=xterm", "script", "-q", "-e", "-c", line, "/dev/null").stdout();
    }

    @Test
    void aBarOnATerminal_jsonLinesWhenAsked_andNothingOtherwise() throws IOException {
        Path source = dir.resolve("src");
        Files.createDirectories(source);
        byte[] data = new byte[48 << 20];
        new Random(3).nextBytes(data);
        Files.write(source.resolve("data.bin"), data);
        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(source, 64L << 20, image);

        String terminal = inTerminal("template", "import", "--template", "t", "--build", "b-tty", image.toString());
        assertThat(terminal).contains("\r\033[Kimporting image.ext4 [").containsPattern("\\] +100% .* of .*/s  \\d+:\\d\\d")
                .contains("b-tty");

        Process plain = new ProcessBuilder(cli("template", "import", "--template", "t", "--build", "b-plain",
                image.toString())).redirectError(dir.resolve("plain.err").toFile())
                .redirectOutput(dir.resolve("plain.out").toFile()).start();
        assertThat(waitFor(plain)).isZero();
        // (logback's status lines on the test class path come first)
        assertThat(Files.readAllLines(dir.resolve("plain.out")).getLast()).isEqualTo("b-plain");
        assertThat(Files.readString(dir.resolve("plain.err"))).doesNotContain("importing").doesNotContain("\r");

        Process json = new ProcessBuilder(cli("template", "import", "--template", "t", "--build", "b-json",
                "--progress=json", image.toString())).redirectError(dir.resolve("json.err").toFile())
                .redirectOutput(dir.resolve("json.out").toFile()).start();
        assertThat(waitFor(json)).isZero();
        List<JsonNode> events = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve("json.err"))) {
            if (line.startsWith("{\"progress\"")) {
                events.add(new ObjectMapper().readTree(line));
            }
        }
        assertThat(events.getFirst().path("state").asText()).isEqualTo("started");
        JsonNode last = events.getLast();
        assertThat(last.path("state").asText()).isEqualTo("done");
        assertThat(last.path("total").asLong()).isEqualTo(Files.size(image) * 2).isEqualTo(last.path("done").asLong());

        // a copy out of a cold build: the bar follows the bytes cp reads through the mount
        String copy = inTerminal("cp", "t", "b-tty:/data.bin", dir.resolve("out.bin").toString());
        assertThat(copy).contains("\r\033[Kcopying /data.bin [").containsPattern("100% 48.0 MiB of 48.0 MiB");
        assertThat(Files.readAllBytes(dir.resolve("out.bin"))).isEqualTo(data);
        String verify = inTerminal("verify", "t", "b-tty");
        assertThat(verify).contains("verifying b-tty [").contains("is intact");
    }

    @Test
    void aCommitThroughTheDaemon_streamsItsProgress() throws Exception {
        Path source = dir.resolve("src");
        Files.createDirectories(source);
        Files.writeString(source.resolve("hello"), "hello\n");
        CliRunner runner = new CliRunner(dir);
        String build = runner.run("template", "create", "--template", "t", "--size", "128M", "--from-dir",
                source.toString()).out()
                .strip();
        try (io.tmount.store.TemplateStore store = new io.tmount.store.TemplateStore(
                new io.tmount.store.StoreLocation.Local(dir.resolve("store")).open());
             io.tmount.daemon.Daemon daemon = io.tmount.daemon.Daemon.start(io.tmount.host.TmountHost.open(
                     new io.tmount.mount.MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                             io.tmount.device.Attachers.onThisHost(4), java.time.Duration.ofMillis(500)),
                     dir.resolve("builds")), dir.resolve("run/tmount.sock"), "test", "s")) {
            Path mnt = dir.resolve("mnt");
            assertThat(runner.run("mount", "t", build, mnt.toString()).status()).isZero();
            try {
                byte[] data = new byte[24 << 20];
                new Random(5).nextBytes(data);
                Files.write(mnt.resolve("data.bin"), data);
                Process commit = new ProcessBuilder(cli("--api-socket", dir.resolve("run/tmount.sock").toString(),
                        "commit", mnt.toString(), "--build", "c-1", "--progress=json"))
                        .redirectError(dir.resolve("commit.err").toFile())
                        .redirectOutput(dir.resolve("commit.out").toFile()).start();
                assertThat(waitFor(commit)).as(Files.readString(dir.resolve("commit.err"))).isZero();
                List<JsonNode> events = new ArrayList<>();
                for (String line : Files.readAllLines(dir.resolve("commit.err"))) {
                    if (line.startsWith("{\"progress\"")) {
                        events.add(new ObjectMapper().readTree(line));
                    }
                }
                JsonNode last = events.getLast();
                assertThat(last.path("state").asText()).isEqualTo("done");
                // packed, digests, stored: three passes over at least the 24 MiB written
                assertThat(last.path("total").asLong()).isGreaterThanOrEqualTo(3L * (24 << 20))
                        .isEqualTo(last.path("done").asLong());
                assertThat(Files.readAllLines(dir.resolve("commit.out")).getLast()).isEqualTo("c-1");

                Files.write(mnt.resolve("more.bin"), data);
                String lines = Run.ok("curl", "-sS", "--unix-socket", dir.resolve("run/tmount.sock").toString(),
                        "-d", "{\"mountPath\":\"" + mnt + "\",\"buildId\":\"c-2\"}",
                        "http://localhost/v1/commits?progress=lines").stdout();
                assertThat(lines).containsPattern("(?m)^PROGRESS \\d+ \\d+$").containsPattern("(?m)^OK \\{.*\"c-2\"");
                assertThat(Run.ok("curl", "-sS", "--unix-socket", dir.resolve("run/tmount.sock").toString(),
                        "-d", "{\"mountPath\":\"/nope\"}", "http://localhost/v1/commits?progress=lines").stdout())
                        .startsWith("ERROR {").contains("NOT_FOUND");
                assertThat(Run.ok("curl", "-sS", "--unix-socket", dir.resolve("run/tmount.sock").toString(),
                        "-d", "{\"mount\":\"/nope\"}", "http://localhost/v1/commits?progress=lines").stdout())
                        .startsWith("{").contains("INVALID_ARGUMENT");
            } finally {
                runner.run("unmount", mnt.toString());
            }
        }
    }

    private static int waitFor(Process process) {
        try {
            return process.waitFor();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
