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
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The command line, run in-process with its own state dir, runtime dir and store (never the defaults). */
@ExtendWith(NoLeftovers.class)
class CliTest {

    @TempDir
    Path dir;

    private CliRunner cli;

    record Result(int status, String out, String err) {
    }

    @BeforeEach
    void environment() {
        cli = new CliRunner(dir);
    }

    private Result tmount(String... args) {
        CliRunner.Result r = cli.run(args);
        return new Result(r.status(), r.out(), r.err());
    }

    @Test
    void templateCreateImportList() throws IOException {
        Path source = Trees.sample(dir.resolve("src"), 1);
        Result created = tmount("template", "create", "--template", "base", "--from-dir", source.toString());
        assertThat(created.status()).isZero();
        assertThat(created.out().strip()).matches("[0-9a-f-]{36}");

        Result named = tmount("template", "create", "--template", "base", "--build", "build-abc123",
                "--from-dir", source.toString(), "--size", "48M");
        assertThat(named.out()).isEqualTo("build-abc123\n");

        Path image = dir.resolve("image.ext4");
        Ext4Images.makeFromDirectory(source, 40L << 20, image);
        Result imported = tmount("template", "import", "--template", "imported", image.toString());
        assertThat(imported.status()).isZero();

        Result list = tmount("template", "list");
        assertThat(list.out()).contains("BUILD").contains("build-abc123").contains("48.0 MiB").contains("imported")
                .contains(created.out().strip());
        JsonNode json = new ObjectMapper().readTree(tmount("template", "list", "--json").out());
        assertThat(json).hasSize(3);
        assertThat(json.findValuesAsText("templateId")).containsExactlyInAnyOrder("base", "base", "imported");
    }

    @Test
    void mountListUnmount_throughADaemon() throws IOException {
        Path source = Trees.sample(dir.resolve("src"), 2);
        String build = tmount("template", "create", "--template", "base", "--from-dir", source.toString()).out().strip();
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
             Daemon daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"),
                     store, Attachers.onThisHost(4), Duration.ofMillis(500)), dir.resolve("builds")), dir.resolve("run/tmount.sock"), "test", "s")) {
            Path mnt = dir.resolve("mnt");
            Result mounted = tmount("mount", "base", build, mnt.toString(), "--read-only");
            assertThat(mounted.status()).as(mounted.err()).isZero();
            assertThat(mounted.out()).startsWith("mounted template base build " + build + " at " + mnt + " (read-only, /dev/loop");
            assertThat(Trees.checksums(mnt)).isEqualTo(Trees.checksums(source));

            Result list = tmount("list");
            assertThat(list.out()).contains("PATH").contains(mnt.toString()).contains("ro").contains("fuse-loop");
            assertThat(tmount("list", "--json").out()).contains("\"mountPath\" : \"" + mnt + "\"");

            Result again = tmount("mount", "base", build, mnt.toString());
            assertThat(again.status()).isEqualTo(1);
            assertThat(again.err()).isEqualTo("tmount: " + mnt + " is already mounted (template base build " + build + ")\n");

            assertThat(tmount("unmount", mnt.toString()).out()).isEqualTo("unmounted " + mnt + "\n");

            assertThat(tmount("mount", "base", build, mnt.toString()).status()).isZero();
            Result nothing = tmount("commit", mnt.toString());
            assertThat(nothing.status()).isZero();
            assertThat(nothing.err()).contains("nothing to commit");
            java.nio.file.Files.writeString(mnt.resolve("added.txt"), "new");
            Result committed = tmount("commit", mnt.toString(), "--build", "child-1");
            assertThat(committed.out()).isEqualTo("child-1\n");
            assertThat(committed.err()).contains("committed " + mnt + " as build child-1 over " + build);
            assertThat(tmount("unmount", mnt.toString()).status()).isZero();

            Result inspect = tmount("inspect", "child-1");
            assertThat(inspect.out()).contains("parent      " + build).contains("header version 3, generation 1")
                    .contains("child-1 (this build)").contains(build);
            var baseReport = new ObjectMapper().readTree(tmount("inspect", build, "--json").out());
            assertThat(baseReport.path("headerless").asBoolean()).isFalse(); // base builds get e2b's V3 header
            assertThat(baseReport.path("generation").asLong()).isZero();
            assertThat(baseReport.path("headerVersion").asInt()).isEqualTo(3);
            assertThat(tmount("cache").out()).contains("chunk cache:").containsPattern(build
                    + "/rootfs.ext4 +[0-9.]+ [KMG]iB +store file"); // a local store's object is read in place
            assertThat(tmount("inspect", "missing").err()).contains("build 'missing' not found");
            assertThat(tmount("list").out()).isEqualTo("no mounts\n");
            Result qemu = tmount("mount", "base", build, mnt.toString(), "--engine", "qemu-nbd", "--json");
            assertThat(new ObjectMapper().readTree(qemu.out()).path("engine").asText()).isEqualTo("qemu-nbd");
            assertThat(tmount("umount", mnt.toString()).status()).isZero();
        }
    }

    @Test
    void errors_areOneLineOnStderrWithStatus1() {
        Result noDaemon = tmount("mount", "base", "b1", "/mnt/x");
        assertThat(noDaemon.status()).isEqualTo(1);
        assertThat(noDaemon.err()).startsWith("tmount: no tmount daemon is listening on " + dir.resolve("run/tmount.sock"))
                .contains("tmount serve").hasLineCount(1);

        Result badId = tmount("template", "create", "--template", "a/b", "--from-dir", dir.toString());
        assertThat(badId.status()).isEqualTo(1);
        assertThat(badId.err()).startsWith("tmount: template id 'a/b' is invalid").hasLineCount(1);

        Result badSize = tmount("template", "create", "--template", "t", "--from-dir", dir.toString(), "--size", "huge");
        assertThat(badSize.err()).startsWith("tmount: size 'huge' is not understood");

        Result badEngine = tmount("mount", "t", "b", "/mnt/x", "--engine", "vmware");
        assertThat(badEngine.err()).isEqualTo("tmount: engine 'vmware' is unknown; accepted: builtin, qemu-nbd\n");

        cli.env.remove("TEMPLATE_STORAGE_URL");
        cli.env.put("STORAGE_PROVIDER", "Azure");
        Result badProvider = tmount("template", "list");
        assertThat(badProvider.status()).isEqualTo(1);
        assertThat(badProvider.err()).contains("STORAGE_PROVIDER 'Azure' is unknown; accepted: Local");
    }

    @Test
    void usageErrors_haveStatus2() {
        Result missing = tmount("mount", "only-one-arg");
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.err()).contains("Missing required parameters");
        assertThat(tmount("frobnicate").status()).isEqualTo(2);
    }

    @Test
    void helpAndVersion() {
        Result help = tmount("--help");
        assertThat(help.status()).isZero();
        assertThat(help.out()).contains("serve").contains("mount").contains("unmount").contains("template").contains("demo");
        assertThat(tmount("--version").out()).startsWith("tmount ");
        assertThat(tmount("mount", "--help").out()).contains("--read-only").contains("--attach").contains("--engine");
    }

    @Test
    void settings_optionsWinOverEnvironment_whichWinsOverDefaults() {
        GlobalOptions options = new GlobalOptions();
        Settings fromEnv = Settings.resolve(options, cli.env);
        assertThat(fromEnv.stateDir()).isEqualTo(dir.resolve("state"));
        assertThat(fromEnv.socket()).isEqualTo(dir.resolve("run/tmount.sock"));
        assertThat(fromEnv.store().url()).isEqualTo("file://" + dir.resolve("store"));
        assertThat(fromEnv.nbdPoolSize()).isEqualTo(64);
        assertThat(fromEnv.fetch().copyLocalStore()).isFalse();

        options.stateDir = dir.resolve("other");
        options.store = "file:///srv/t";
        cli.env.put("NBD_POOL_SIZE", "128");
        cli.env.put("TMOUNT_COPY_LOCAL_STORE", "true");
        cli.env.put("TMOUNT_FETCHES", "4");
        cli.env.put("TMOUNT_READ_AHEAD", "32");
        cli.env.put("TMOUNT_TRACE_WINDOW", "90s");
        Settings mixed = Settings.resolve(options, cli.env);
        assertThat(mixed.stateDir()).isEqualTo(dir.resolve("other"));
        assertThat(mixed.store().url()).isEqualTo("file:///srv/t");
        assertThat(mixed.nbdPoolSize()).isEqualTo(128);
        assertThat(mixed.fetch().copyLocalStore()).isTrue();
        assertThat(mixed.fetch()).isEqualTo(new io.tmount.image.FetchPolicy(true, 4, 4, 32, java.time.Duration.ofSeconds(90))); // the share fits the total
        assertThat(Settings.fetchPolicy(mixed.fetch(), null, 2, 0, "0")).isEqualTo(new io.tmount.image.FetchPolicy(true, 4, 2, 0, java.time.Duration.ZERO));
        // serve's options over the environment's: a larger total is not held to the share the smaller one capped
        assertThat(mixed.fetchEnv().policy(32, null, null, null, false)).isEqualTo(
                new io.tmount.image.FetchPolicy(true, 32, 8, 32, java.time.Duration.ofSeconds(90)));
        assertThatThrownBy(() -> Settings.fetchPolicy(mixed.fetch(), 0, null, null, null))
                .hasMessageContaining("must be at least 1");
        cli.env.put("TMOUNT_READ_AHEAD", "lots");
        assertThatThrownBy(() -> Settings.resolve(options, cli.env)).hasMessage("TMOUNT_READ_AHEAD 'lots' must be a whole number");
        cli.env.remove("TMOUNT_READ_AHEAD");
        assertThatThrownBy(() -> Settings.fetchPolicy(mixed.fetch(), null, null, null, "soon"))
                .hasMessageContaining("'soon' is not a duration (60s, 5m, 0 for none)");
        assertThat(Settings.fetchPolicy(mixed.fetch(), null, null, null, "2m").traceWindow()).hasMinutes(2);
        assertThatThrownBy(() -> Settings.duration("3000000h")).hasMessageContaining("longer than the 7 days");

        Settings defaults = Settings.resolve(new GlobalOptions(), Map.of());
        assertThat(defaults.stateDir()).isEqualTo(Path.of("/var/lib/tmount"));
        assertThat(defaults.socket()).isEqualTo(Path.of("/run/tmount/tmount.sock"));
        assertThat(defaults.store().url()).isEqualTo("file:///var/lib/tmount/templates");
    }
}
