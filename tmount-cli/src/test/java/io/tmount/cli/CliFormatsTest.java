package io.tmount.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.daemon.Daemon;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountManagerConfig;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateStore;
import io.tmount.template.Ext4Images;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Compression, header versions, verify and build-id strictness on the command line (own dirs and store). */
@ExtendWith(NoLeftovers.class)
class CliFormatsTest {

    private static final String BASE = "b0000000-0000-4000-8000-000000000001";
    private static final String CHILD = "c0000000-0000-4000-8000-000000000002";

    @TempDir
    Path dir;

    private CliRunner cli;
    private Map<String, String> env;
    private Path source;

    record Result(int status, String out, String err) {
    }

    @BeforeEach
    void environment() {
        cli = new CliRunner(dir);
        env = cli.env;
        source = Trees.sample(dir.resolve("src"), 3);
    }

    private Result tmount(String... args) {
        CliRunner.Result r = cli.run(args);
        return new Result(r.status(), r.out(), r.err());
    }

    private JsonNode json(Result result) throws IOException {
        assertThat(result.status()).as(result.err()).isZero();
        return new ObjectMapper().readTree(result.out());
    }

    @Test
    void compressedBuilds_areWrittenInspectedAndVerified_andDamageIsFound() throws IOException {
        Result created = tmount("template", "create", "--template", "base", "--build", BASE, "--from-dir",
                source.toString(), "--compression", "zstd", "--frame-size", "256K");
        assertThat(created.status()).as(created.err()).isZero();
        assertThat(dir.resolve("store/" + BASE + "/rootfs.ext4.zstd")).exists();
        assertThat(dir.resolve("store/" + BASE + "/rootfs.ext4")).doesNotExist();
        JsonNode report = json(tmount("inspect", BASE, "--json"));
        assertThat(report.path("headerVersion").asInt()).isEqualTo(4);
        JsonNode layer = report.path("layers").get(0);
        assertThat(layer.path("compression").asText()).isEqualTo("zstd");
        assertThat(layer.path("frames").asInt()).isGreaterThan(1);
        assertThat(layer.path("sha256").asText()).hasSize(64);

        Result verified = tmount("verify", "base", BASE, "--fsck");
        assertThat(verified.status()).as(verified.out() + verified.err()).isZero();
        assertThat(verified.out()).contains("SHA-256 matches").contains("e2fsck -fn: clean").contains("is intact");

        // one flipped byte in the middle of the compressed object: a frame fails, the verdict is damaged
        Path object = dir.resolve("store/" + BASE + "/rootfs.ext4.zstd");
        byte[] bytes = Files.readAllBytes(object);
        bytes[bytes.length / 2] ^= 0x20;
        Files.write(object, bytes);
        Result damaged = tmount("verify", "base", BASE);
        assertThat(damaged.status()).isEqualTo(VerifyCommand.DAMAGED);
        assertThat(damaged.out()).contains("BAD  build " + BASE).contains("is damaged").contains("is DAMAGED");
        assertThat(json(new Result(0, tmount("verify", "base", BASE, "--json").out(), "")).path("intact").asBoolean()).isFalse();
    }

    @Test
    void e2bsCompressionVariables_areTheDefault_andOptionsWinOverThem() throws IOException {
        env.put("COMPRESS_ENABLED", "true");
        env.put("COMPRESS_TYPE", "lz4");
        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(source, 40L << 20, image);
        assertThat(tmount("template", "import", "--template", "t", "--build", BASE, image.toString()).status()).isZero();
        assertThat(dir.resolve("store/" + BASE + "/rootfs.ext4.lz4")).exists();
        assertThat(tmount("template", "import", "--template", "t", "--build", CHILD, "--compression", "none",
                "--header-version", "5", image.toString()).status()).isZero();
        assertThat(dir.resolve("store/" + CHILD + "/rootfs.ext4")).exists();
        assertThat(json(tmount("inspect", CHILD, "--json")).path("headerVersion").asInt()).isEqualTo(5);
        Result bad = tmount("template", "import", "--template", "t", "--header-version", "3", image.toString());
        assertThat(bad.status()).isEqualTo(1);
        assertThat(bad.err()).contains("a version 3 header cannot describe lz4-compressed data");
    }

    @Test
    void nonUuidBuildIds_areStoredWithAWarning_orRefusedWhenStrict() {
        Result warned = tmount("template", "create", "--template", "t", "--build", "my-build", "--from-dir", source.toString());
        assertThat(warned.status()).isZero();
        assertThat(warned.err()).contains("warning: build id 'my-build' is not a lower-case UUID: e2b cannot read this build");
        Result strict = tmount("--strict-build-ids", "template", "create", "--template", "t", "--build", "other-build",
                "--from-dir", source.toString());
        assertThat(strict.status()).isEqualTo(1);
        assertThat(strict.err()).contains("build id 'other-build' is not a lower-case UUID").contains("use a UUID");
        env.put("TMOUNT_STRICT_BUILD_IDS", "true");
        assertThat(tmount("template", "create", "--template", "t", "--build", "third-build", "--from-dir",
                source.toString()).status()).isEqualTo(1);
        assertThat(dir.resolve("store/other-build")).doesNotExist();
        assertThat(dir.resolve("store/third-build")).doesNotExist();
    }

    @Test
    void commitAndMountThroughTheDaemon_takeFormatsAndVerify() throws IOException {
        assertThat(tmount("template", "create", "--template", "base", "--build", BASE, "--from-dir", source.toString(),
                "--compression", "lz4").status()).isZero();
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
             Daemon daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"),
                     store, Attachers.onThisHost(4), Duration.ofMillis(500)), dir.resolve("builds")), dir.resolve("run/tmount.sock"), "test", "s")) {
            Path mnt = dir.resolve("mnt");
            Result mounted = tmount("mount", "base", BASE, mnt.toString(), "--verify");
            assertThat(mounted.status()).as(mounted.err()).isZero();
            Files.writeString(mnt.resolve("etc/hostname"), "changed\n");
            Result refused = tmount("commit", mnt.toString(), "--compression", "zstd", "--header-version", "3");
            assertThat(refused.status()).isEqualTo(1);
            assertThat(refused.err()).contains("version 3 header cannot describe zstd-compressed data");
            Result committed = tmount("commit", mnt.toString(), "--build", CHILD, "--compression", "zstd",
                    "--header-version", "5");
            assertThat(committed.status()).as(committed.err()).isZero();
            assertThat(committed.err()).contains("stored zstd-compressed in").contains("header version 5");
            assertThat(tmount("unmount", mnt.toString()).status()).isZero();
            JsonNode report = json(tmount("inspect", CHILD, "--json"));
            assertThat(report.path("headerVersion").asInt()).isEqualTo(5);
            assertThat(report.path("generation").asInt()).isEqualTo(1);

            Path object = dir.resolve("store/" + CHILD + "/rootfs.ext4.zstd");
            byte[] bytes = Files.readAllBytes(object);
            bytes[bytes.length / 2] ^= 0x20;
            Files.write(object, bytes);
            Result refusedMount = tmount("mount", "base", CHILD, mnt.toString(), "--verify", "--read-only");
            assertThat(refusedMount.status()).isEqualTo(1);
            assertThat(refusedMount.err()).contains("fails verification, so it is not mounted").contains("is damaged");
            assertThat(tmount("list").out()).isEqualTo("no mounts\n");
        }
    }
}
