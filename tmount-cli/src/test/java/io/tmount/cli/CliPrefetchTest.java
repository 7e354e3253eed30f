package io.tmount.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.daemon.Daemon;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.image.FetchPolicy;
import io.tmount.mount.MountManagerConfig;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateStore;
import io.tmount.testing.NoLeftovers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Read traces through real mounts: a mount records what it reads first, and `tmount prefetch` on another host's
 * state (an empty cache, the traces copied) makes exactly those chunks local; --all makes everything local.
 */
@ExtendWith(NoLeftovers.class)
class CliPrefetchTest {

    @TempDir
    Path dir;

    private Daemon daemon(TemplateStore store, String state) {
        // chunks copied into the cache, as from S3, so the test can see what is local
        return Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve(state), dir.resolve("run"), store,
                        Attachers.onThisHost(4), Duration.ofMillis(500)).withCache(1 << 20, 1L << 30)
                        .withFetch(FetchPolicy.DEFAULT.withCopyLocalStore(true)), dir.resolve("builds")),
                dir.resolve("run/tmount.sock"), "test", state);
    }

    private static long cached(CliRunner cli) throws Exception {
        JsonNode cache = new ObjectMapper().readTree(ok(cli, "cache", "--json").out());
        long present = 0;
        for (JsonNode object : cache.path("objects")) {
            present += object.path("presentBytes").asLong();
        }
        return present;
    }

    private static CliRunner.Result ok(CliRunner cli, String... args) {
        CliRunner.Result result = cli.run(args);
        assertThat(result.status()).as(String.join(" ", args) + ": " + result.err()).isZero();
        return result;
    }

    @Test
    void aMountsFirstReads_areItsBuildsTrace_whichPrefetchMakesLocalOnAnotherCache() throws Exception {
        Path source = dir.resolve("src");
        Random random = new Random(5);
        for (String name : new String[] {"a", "b", "c"}) {
            byte[] bytes = new byte[6 << 20];
            random.nextBytes(bytes);
            Files.createDirectories(source.resolve(name));
            Files.write(source.resolve(name).resolve("data.bin"), bytes);
        }
        CliRunner cli = new CliRunner(dir);
        String build = ok(cli, "template", "create", "--template", "t", "--from-dir", source.toString()).out().strip();
        Path mnt = dir.resolve("mnt");
        try (TemplateStore store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open())) {
            try (Daemon first = daemon(store, "state")) {
                assertThat(ok(cli, "prefetch", "t", build).err()).contains("no read trace is recorded for build " + build);
                ok(cli, "mount", "t", build, mnt.toString(), "--read-only");
                assertThat(Files.readAllBytes(mnt.resolve("b/data.bin"))).hasSize(6 << 20);
                ok(cli, "unmount", mnt.toString()); // saves the trace: the window has not ended
            }
            Path trace = dir.resolve("state/traces/" + build + ".trace");
            assertThat(trace).exists();
            long chunks = Files.readAllLines(trace).size() - 1;
            assertThat(chunks).as("b's 6 MiB and the metadata mounting read").isBetween(6L, 40L);

            Files.createDirectories(dir.resolve("state2/traces"));
            Files.copy(trace, dir.resolve("state2/traces").resolve(trace.getFileName()));
            try (Daemon second = daemon(store, "state2")) {
                CliRunner.Result traced = ok(cli, "prefetch", "t", build);
                assertThat(traced.out()).contains("of build " + build).contains(chunks + " chunks of the read trace of "
                        + build);
                assertThat(cached(cli)).isEqualTo(chunks << 20);
                JsonNode all = new ObjectMapper().readTree(ok(cli, "prefetch", "t", build, "--all", "--rate", "200",
                        "--json").out());
                assertThat(all.path("traceOf").asText()).isEqualTo(build);
                long mapped = all.path("bytes").asLong() - (chunks << 20);
                assertThat(cached(cli)).isEqualTo(mapped); // all of it, once
                assertThat(cli.run("prefetch", "t", "no-such-build").err()).contains("no-such-build");
                CliRunner.Result bad = cli.run("prefetch", "t", "a/b"); // refused at once, not left hanging
                assertThat(bad.status()).isNotZero();
                assertThat(bad.err()).contains("a/b");
            }
        }
    }
}
