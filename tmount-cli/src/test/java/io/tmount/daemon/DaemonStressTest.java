package io.tmount.daemon;

import io.tmount.device.Attachers;
import io.tmount.export.ExportInfo;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountInfo;
import io.tmount.mount.MountManagerConfig;
import io.tmount.mount.MountOptions;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.BusyboxTree;
import io.tmount.testing.NoLeftovers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Mixed operations (mount, unmount, list, commit, export, unexport, build) from 8 concurrent clients, each on its
 * own API connection, against one daemon: every operation succeeds, no device is handed out twice, {@code list}
 * matches what the clients hold, and at the end nothing is left (mounts, loop devices, helpers). The test command
 * runs 120 operations; {@code -Dtmount.stress.ops=1000} the long version. Latency percentiles per operation are
 * printed (docs/reliability.md).
 */
@ExtendWith(NoLeftovers.class)
@org.junit.jupiter.api.Timeout(value = 15, unit = TimeUnit.MINUTES,
        threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD)
class DaemonStressTest {

    private static final int CLIENTS = 8;

    @TempDir
    Path dir;

    private TemplateStore store;
    private Daemon daemon;
    private Path socket;
    private final Map<String, List<Long>> latencies = new ConcurrentHashMap<>();
    private final AtomicInteger builds = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        new TemplateCatalog(store, dir.resolve("scratch")).create(TemplateId.of("base"), BuildId.of("base-1"),
                BusyboxTree.create(dir.resolve("busybox")), null);
        socket = dir.resolve("run/tmount.sock");
        daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"),
                store, Attachers.onThisHost(8), Duration.ofMillis(500)), dir.resolve("builds")), socket, "test",
                dir.resolve("state").toString());
    }

    @AfterEach
    void stop() throws IOException {
        daemon.close();
        store.close();
    }

    @Test
    void mixedOperationsFromEightClients_leaveNothingAndListExactly() throws Exception {
        int total = Integer.getInteger("tmount.stress.ops", 120);
        long seed = Long.getLong("tmount.stress.seed", System.nanoTime());
        long start = System.nanoTime();
        try (ExecutorService clients = Executors.newFixedThreadPool(CLIENTS)) {
            List<Future<?>> work = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int id = c;
                work.add(clients.submit(() -> {
                    runClient(id, total / CLIENTS, new Random(seed + id));
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get(20, TimeUnit.MINUTES);
            }
        }
        try (DaemonClient client = DaemonClient.connect(socket)) {
            assertThat(client.list()).as("seed %d", seed).isEmpty();
            assertThat(client.exports()).as("seed %d", seed).isEmpty();
        }
        report(total, seed, Duration.ofNanos(System.nanoTime() - start));
    }

    /** One client: a random walk over the operations, on mounts and exports of its own, cleaned up at the end. */
    private void runClient(int id, int ops, Random random) throws Exception {
        List<Path> readOnly = new ArrayList<>();
        List<Path> writable = new ArrayList<>();
        List<String> exports = new ArrayList<>();
        int serial = 0;
        try (DaemonClient client = DaemonClient.connect(socket)) {
            for (int op = 0; op < ops; op++) {
                serial++;
                int pick = random.nextInt(100);
                Path mnt = dir.resolve("c" + id + "/m" + serial);
                if (pick < 20 && readOnly.size() + writable.size() < 3) {
                    boolean rw = random.nextBoolean();
                    timed("mount", () -> client.mount("base", "base-1", mnt.toString(),
                            MountOptions.defaults().withReadOnly(!rw)));
                    (rw ? writable : readOnly).add(mnt);
                    assertThat(mnt.resolve("bin/busybox")).isRegularFile();
                } else if (pick < 40 && !(readOnly.isEmpty() && writable.isEmpty())) {
                    List<Path> from = !readOnly.isEmpty() && (writable.isEmpty() || random.nextBoolean())
                            ? readOnly : writable;
                    Path gone = from.remove(random.nextInt(from.size()));
                    timed("unmount", () -> client.unmount(gone.toString()));
                } else if (pick < 55) {
                    List<MountInfo> listed = timed("list", client::list);
                    Set<String> devices = new HashSet<>();
                    for (MountInfo info : listed) {
                        assertThat(devices.add(info.devicePath().toString()))
                                .as("device %s handed out twice", info.devicePath()).isTrue();
                    }
                    Set<Path> paths = new HashSet<>();
                    listed.forEach(i -> paths.add(i.mountPath()));
                    assertThat(paths).containsAll(readOnly).containsAll(writable);
                } else if (pick < 70 && !writable.isEmpty()) {
                    Path rw = writable.get(random.nextInt(writable.size()));
                    Files.writeString(rw.resolve("etc/stress-" + id + "-" + serial), "op " + serial + "\n");
                    String build = "stress-" + id + "-" + serial;
                    timed("commit", () -> client.commit(rw.toString(), build));
                    assertThat(store.exists(BuildId.of(build))).isTrue();
                } else if (pick < 82 && exports.size() < 2) {
                    String name = "e" + id + "-" + serial;
                    ExportInfo info = timed("export", () -> client.export(new ExportRequest("base", "base-1", null,
                            dir.resolve("s/" + name + ".sock").toString(), null, random.nextBoolean(), name, false, 0)));
                    assertThat(info.name()).isEqualTo(name);
                    exports.add(name);
                } else if (pick < 92 && !exports.isEmpty()) {
                    String name = exports.remove(random.nextInt(exports.size()));
                    timed("unexport", () -> {
                        client.unexport(name);
                        return null;
                    });
                } else if (builds.get() < Math.max(2, ops / 25)) {
                    builds.incrementAndGet();
                    String build = "built-" + id + "-" + serial;
                    timed("build", () -> client.build("""
                            template: app
                            from: {template: base, build: base-1}
                            steps:
                              - {type: RUN, args: ["echo %s > /built.txt"]}
                            """.formatted(build), dir, build, line -> { }));
                } else {
                    timed("list", client::list);
                }
            }
            for (Path mnt : readOnly) {
                client.unmount(mnt.toString());
            }
            for (Path mnt : writable) {
                client.unmount(mnt.toString());
            }
            for (String name : exports) {
                client.unexport(name);
            }
        }
    }

    private interface Call<T> {
        T run() throws Exception;
    }

    private <T> T timed(String op, Call<T> call) throws Exception {
        long start = System.nanoTime();
        T result = call.run();
        latencies.computeIfAbsent(op, k -> java.util.Collections.synchronizedList(new ArrayList<>()))
                .add(System.nanoTime() - start);
        return result;
    }

    private void report(int total, long seed, Duration took) {
        StringBuilder out = new StringBuilder("stress: " + total + " operations from " + CLIENTS + " clients in "
                + took.toMillis() + " ms (seed " + seed + ")\n| operation | count | p50 ms | p90 ms | p99 ms | max ms |\n");
        for (Map.Entry<String, List<Long>> e : new TreeMap<>(latencies).entrySet()) {
            List<Long> sorted = new ArrayList<>(e.getValue());
            sorted.sort(null);
            out.append(String.format("| %s | %d | %d | %d | %d | %d |%n", e.getKey(), sorted.size(),
                    percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 99),
                    sorted.getLast() / 1_000_000));
        }
        System.out.print(out);
    }

    private static long percentile(List<Long> sorted, int p) {
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, index)) / 1_000_000;
    }
}
