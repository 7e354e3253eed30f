package io.tmount.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.tmount.daemon.Daemon;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.metrics.MeteredObjectStore;
import io.tmount.metrics.Metrics;
import io.tmount.mount.MountManagerConfig;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateStore;
import io.tmount.testing.BusyboxTree;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The daemon's metrics, scraped over TCP (--metrics-listen) and the API socket and read with the Prometheus
 * client's own text parser (python3-prometheus-client): each one moves when its event happens.
 */
@ExtendWith(NoLeftovers.class)
class CliMetricsTest {

    @TempDir
    Path dir;

    /** Samples by "name{label=value,...}" (labels sorted), as the parser read them. */
    private Map<String, Double> scrape(String curlTarget, String... curlOptions) throws IOException {
        String[] command = new String[curlOptions.length + 3];
        command[0] = "curl";
        command[1] = "-sf";
        System.arraycopy(curlOptions, 0, command, 2, curlOptions.length);
        command[command.length - 1] = curlTarget;
        String text = Run.ok(command).stdout();
        Path file = dir.resolve("scrape.txt");
        Files.writeString(file, text);
        String parsed = Run.ok("sh", "-c", "/usr/bin/python3 src/test/resources/files/parse_metrics.py < " + file).stdout();
        Map<String, Double> samples = new HashMap<>();
        ObjectMapper json = new ObjectMapper();
        for (String line : parsed.lines().toList()) {
            JsonNode sample = json.readTree(line);
            StringBuilder key = new StringBuilder(sample.path("name").asText()).append('{');
            sample.path("labels").properties().forEach(e -> key.append(e.getKey()).append('=')
                    .append(e.getValue().asText()).append(','));
            samples.put(key.append('}').toString(), sample.path("value").asDouble());
        }
        return samples;
    }

    private static double value(Map<String, Double> samples, String key) {
        return samples.getOrDefault(key, 0.0);
    }

    @Test
    void everyMetricMovesWhenItsEventHappens() throws Exception {
        Path source = BusyboxTree.create(dir.resolve("src"));
        byte[] big = new byte[24 << 20];
        new Random(1).nextBytes(big);
        Files.write(source.resolve("big.bin"), big);
        CliRunner cli = new CliRunner(dir);
        String build = cli.run("template", "create", "--template", "base", "--from-dir", source.toString())
                .out().strip();
        Files.writeString(dir.resolve("template.yaml"), """
                template: app
                from: {template: base, build: %s}
                steps:
                  - {type: RUN, args: ["echo built > /built.txt"]}
                  - {type: ENV, args: ["A", "1"]}
                """.formatted(build));
        Metrics metrics = new Metrics(new PrometheusRegistry());
        try (TemplateStore store = new TemplateStore(new MeteredObjectStore(
                new StoreLocation.Local(dir.resolve("store")).open(), metrics));
             Daemon daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"),
                             dir.resolve("run"), store, Attachers.onThisHost(4), Duration.ofMillis(500))
                             .withCache(1 << 20, 8 << 20) // the chunk cache's metrics: copy, as from S3
                             .withFetch(io.tmount.image.FetchPolicy.DEFAULT.withCopyLocalStore(true)),
                     dir.resolve("builds"), metrics),
                     dir.resolve("run/tmount.sock"), "test", "s", Daemon.DEFAULT_BUILD_HEARTBEAT, null,
                     new InetSocketAddress("127.0.0.1", 0))) {
            String tcp = "http://127.0.0.1:" + daemon.metricsPort() + "/metrics";
            Map<String, Double> before = scrape(tcp);
            assertThat(before).containsKeys("tmount_mounts{attach=fuse-loop,state=ok,}", "tmount_exports{}",
                    "tmount_cache_bytes{kind=max,}", "tmount_nbd_pool_devices{kind=size,}");
            assertThat(value(before, "tmount_nbd_pool_devices{kind=size,}")).isEqualTo(4);

            Path mnt = dir.resolve("mnt");
            assertThat(cli.run("mount", "base", build, mnt.toString()).status()).isZero();
            assertThat(Files.readAllBytes(mnt.resolve("big.bin"))).isEqualTo(big);
            Files.write(mnt.resolve("written.bin"), new byte[1 << 20]);
            Run.ok("sync", "-f", mnt.resolve("written.bin").toString());
            Map<String, Double> mounted = scrape("http://tmount/metrics", "--unix-socket",
                    dir.resolve("run/tmount.sock").toString());
            assertThat(value(mounted, "tmount_mounts{attach=fuse-loop,state=ok,}")).isEqualTo(1);
            assertThat(value(mounted, "tmount_overlay_bytes{mount=" + mnt + ",}")).isGreaterThanOrEqualTo(1 << 20);
            assertThat(cli.run("commit", mnt.toString(), "--build", "child-1").status()).isZero();
            assertThat(cli.run("unmount", mnt.toString()).status()).isZero();
            assertThat(cli.run("mount", "base", "missing", mnt.toString()).status()).isEqualTo(1);

            Path socket = dir.resolve("e.sock");
            CliRunner.Result exported = cli.run("export", "base", build, "--name", "e", "--socket", socket.toString());
            assertThat(exported.status()).as(exported.err()).isZero();
            Map<String, Double> exporting = scrape(tcp);
            Run.ok("nbdcopy", "nbd+unix:///e?socket=" + socket, dir.resolve("copy.img").toString());
            assertThat(cli.run("unexport", "e").status()).isZero();
            CliRunner.Result built = cli.run("build", "-f", dir.resolve("template.yaml").toString());
            assertThat(built.status()).as(built.err()).isZero();
            Map<String, Double> after = scrape(tcp);

            assertThat(value(exporting, "tmount_exports{}")).isEqualTo(1);
            assertThat(value(after, "tmount_exports{}")).isZero();
            assertThat(value(after, "tmount_mounts{attach=fuse-loop,state=ok,}")).isZero();
            // mount: the API's, the build's root; one failure
            assertThat(value(after, "tmount_mount_duration_seconds_count{result=ok,}")).isGreaterThanOrEqualTo(2);
            assertThat(value(after, "tmount_mount_duration_seconds_count{result=error,}")).isEqualTo(1);
            assertThat(value(after, "tmount_unmount_duration_seconds_count{result=ok,}")).isGreaterThanOrEqualTo(2);
            assertThat(value(after, "tmount_mount_duration_seconds_sum{result=ok,}")).isPositive();
            // the store: chunk fetches, and the commit's and the build's uploads
            assertThat(value(after, "tmount_store_requests_total{op=read,result=ok,}"))
                    .isGreaterThan(value(before, "tmount_store_requests_total{op=read,result=ok,}"));
            assertThat(value(after, "tmount_store_bytes_total{op=read,}")).isGreaterThanOrEqualTo(24 << 20);
            assertThat(value(after, "tmount_store_requests_total{op=upload,result=ok,}")).isGreaterThanOrEqualTo(2);
            assertThat(value(after, "tmount_store_request_duration_seconds_count{op=read,}")).isPositive();
            // NBD, for mounts and the export
            assertThat(value(after, "tmount_nbd_requests_total{command=read,result=ok,server=mount,}")).isPositive();
            assertThat(value(after, "tmount_nbd_requests_total{command=write,result=ok,server=mount,}")).isPositive();
            assertThat(value(after, "tmount_nbd_requests_total{command=flush,result=ok,server=mount,}")).isPositive();
            assertThat(value(after, "tmount_nbd_bytes_total{command=write,server=mount,}")).isGreaterThanOrEqualTo(1 << 20);
            // nbdcopy asks which ranges hold data and reads only those
            assertThat(value(after, "tmount_nbd_requests_total{command=block_status,result=ok,server=export,}"))
                    .isPositive();
            assertThat(value(after, "tmount_nbd_bytes_total{command=read,server=export,}")).isPositive()
                    .isLessThanOrEqualTo(Files.size(dir.resolve("copy.img")));
            // the chunk cache: 24 MiB through an 8 MiB budget
            assertThat(value(after, "tmount_cache_misses_total{}")).isGreaterThanOrEqualTo(24);
            assertThat(value(after, "tmount_cache_hits_total{}")).isPositive();
            assertThat(value(after, "tmount_cache_fetched_bytes_total{}")).isGreaterThanOrEqualTo(24 << 20);
            assertThat(value(after, "tmount_cache_evicted_bytes_total{}")).isGreaterThanOrEqualTo(16 << 20);
            assertThat(value(after, "tmount_cache_bytes{kind=used,}")).isLessThanOrEqualTo(8 << 20);
            // builds and their steps
            assertThat(value(after, "tmount_builds_total{result=ok,}")).isEqualTo(1);
            assertThat(value(after, "tmount_build_step_duration_seconds_count{step=RUN,}")).isEqualTo(1);
            assertThat(value(after, "tmount_build_step_duration_seconds_count{step=ENV,}")).isEqualTo(1);
            // the TCP port serves the metrics and nothing else
            assertThat(Run.any("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                    "http://127.0.0.1:" + daemon.metricsPort() + "/v1/mounts").stdout()).isEqualTo("404");
        }
    }
}
