package io.tmount.cli;

import io.tmount.host.TmountHost;
import io.tmount.daemon.Daemon;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.S3ProxyServer;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The command line and the daemon with the template store in S3 (a real S3 server, S3Proxy). */
@ExtendWith(NoLeftovers.class)
class CliS3Test {

    @TempDir
    static Path serverDir;

    static S3ProxyServer server;

    @TempDir
    Path dir;

    record Result(int status, String out, String err) {
    }

    @BeforeAll
    static void startServer() throws IOException {
        server = S3ProxyServer.start(serverDir);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private Map<String, String> env(String bucket) {
        Map<String, String> env = new HashMap<>();
        env.put("TMOUNT_STATE_DIR", dir.resolve("state").toString());
        env.put("TMOUNT_RUNTIME_DIR", dir.resolve("run").toString());
        env.put("TEMPLATE_STORAGE_URL", server.url(bucket));
        env.put("AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY);
        env.put("AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY);
        return env;
    }

    private Result tmount(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(err), env);
        return new Result(status, out.toString(), err.toString());
    }

    @Test
    void templatesMountsAndCommits_againstS3() throws Exception {
        Map<String, String> env = env(server.createBucket("cli-templates"));
        Path source = Trees.sample(dir.resolve("src"), 3);
        Result created = tmount(env, "template", "create", "--template", "base", "--from-dir", source.toString());
        assertThat(created.status()).as(created.err()).isZero();
        String build = created.out().strip();
        assertThat(tmount(env, "template", "list").out()).contains(build).contains("base");

        Settings settings = Settings.resolve(new GlobalOptions(), env);
        try (var store = new io.tmount.store.TemplateStore(settings.store().open());
             Daemon daemon = Daemon.start(TmountHost.open(settings.mountManagerConfig(store, 4), dir.resolve("builds")),
                     settings.socket(), "test", "s")) {
            Path mnt = dir.resolve("mnt");
            assertThat(tmount(env, "mount", "base", build, mnt.toString()).status()).isZero();
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));
            java.nio.file.Files.writeString(mnt.resolve("from-s3.txt"), "committed to S3");
            Result commit = tmount(env, "commit", mnt.toString());
            assertThat(commit.status()).as(commit.err()).isZero();
            assertThat(tmount(env, "unmount", mnt.toString()).status()).isZero();
            assertThat(tmount(env, "inspect", commit.out().strip()).out()).contains("generation 1").contains(build);
            assertThat(tmount(env, "cache").out()).contains(build + "/rootfs.ext4");
        }
    }

    @Test
    void benchHelpers_readRangesInParallel_andDelayEveryResponse() throws Exception {
        Map<String, String> env = env(server.createBucket("cli-bench"));
        Path source = Trees.sample(dir.resolve("src"), 4);
        String build = tmount(env, "template", "create", "--template", "base", "--from-dir", source.toString(),
                "--size", "48M").out().strip();
        Result parallel = tmount(env, "store-read", build, "--ranges", "0:8388608,16777216:1048576", "--chunk", "1M",
                "--parallel", "4");
        assertThat(parallel.status()).as(parallel.err()).isZero();
        assertThat(parallel.out()).startsWith("9437184 ");
        assertThat(parallel.err()).contains("with 4 in flight");

        String java = ProcessHandle.current().info().command().orElseThrow();
        int port = Integer.parseInt(server.url("x").replaceAll(".*127\\.0\\.0\\.1:(\\d+).*", "$1"));
        Process proxy = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), "io.tmount.cli.Main",
                "delay-proxy", "--to", Integer.toString(port), "--delay", "100").redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            String proxyPort;
            var lines = new java.io.BufferedReader(new java.io.InputStreamReader(proxy.getInputStream()));
            do { // (logback may print its own status lines on the test class path first)
                proxyPort = lines.readLine();
            } while (proxyPort != null && !proxyPort.matches("\\d+"));
            Map<String, String> delayed = new HashMap<>(env);
            delayed.put("TEMPLATE_STORAGE_URL", env.get("TEMPLATE_STORAGE_URL").replace("127.0.0.1:" + port,
                    "127.0.0.1:" + proxyPort));
            Result one = tmount(delayed, "store-read", build, "--ranges", "0:4194304", "--chunk", "1M");
            assertThat(one.status()).as(one.err()).isZero();
            String[] bytesAndMillis = one.out().strip().split(" ");
            assertThat(bytesAndMillis[0]).isEqualTo("4194304");
            assertThat(Long.parseLong(bytesAndMillis[1])).as("4 GETs one after another, 100 ms each")
                    .isGreaterThanOrEqualTo(400);
        } finally {
            proxy.destroyForcibly().waitFor();
        }
    }

    @Test
    void storeErrors_areOneClearLine() throws IOException {
        Map<String, String> env = env(server.createBucket("cli-errors"));
        env.put("AWS_SECRET_ACCESS_KEY", "wrong");
        Result wrong = tmount(env, "template", "list");
        assertThat(wrong.status()).isEqualTo(1);
        assertThat(wrong.err()).startsWith("tmount: ").contains("S3 refused the credentials for bucket 'cli-errors'")
                .hasLineCount(1);
        Map<String, String> missing = env("no-such-bucket");
        assertThat(tmount(missing, "template", "list").err()).contains("S3 bucket 'no-such-bucket' does not exist");
    }
}
