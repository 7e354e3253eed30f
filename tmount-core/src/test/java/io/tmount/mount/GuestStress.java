package io.tmount.mount;

import io.tmount.device.Attachers;
import io.tmount.device.KernelNbdAttacher;
import io.tmount.device.NbdDevicePool;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.testing.Trees;

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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Issue 12's stress on kernel-nbd, run in the VM of {@link KernelNbdVmTest}: 8 threads share a manager whose pool is
 * all 8 nbd devices and do mixed operations (mount read-only or writable, read a file, write and commit, list,
 * unmount) until {@code ops} are done. Every operation must succeed; at each list no device appears twice and the
 * thread's own mount is listed; at the end nothing is listed and every device is free in the kernel's eyes.
 */
final class GuestStress {

    private static final int THREADS = 8;

    private GuestStress() {
    }

    static void run(TemplateStore store, TemplateId template, BuildId build, Map<String, String> expected, int ops)
            throws Exception {
        NbdDevicePool pool = NbdDevicePool.onThisHost(THREADS, Duration.ofSeconds(60));
        for (int i = 0; i < THREADS; i++) {
            require(pool.kernelFree(i), "nbd" + i + " should exist and be free (nbds_max=8)");
        }
        Attachers kernelOnly = new Attachers(List.of(new KernelNbdAttacher(pool, "nbd-client", Duration.ofSeconds(90), 1)));
        MountManagerConfig config = new MountManagerConfig(Path.of("/run/tmount/stress-state"),
                Path.of("/run/tmount/stress-run"), store, kernelOnly, Duration.ofSeconds(2)).withCache(1 << 20, 256L << 20);
        String file = expected.keySet().iterator().next();
        Map<String, List<Long>> latencies = new ConcurrentHashMap<>();
        AtomicInteger left = new AtomicInteger(ops);
        long start = System.nanoTime();
        try (MountManager manager = MountManager.open(config)) {
            ExecutorService threads = Executors.newFixedThreadPool(THREADS);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int id = t;
                done.add(threads.submit(() -> {
                    worker(manager, template, build, Path.of("/mnt/stress/" + id), file, expected.get(file),
                            new Random(1000 + id), left, latencies);
                    return null;
                }));
            }
            threads.shutdown();
            for (Future<?> future : done) {
                future.get();
            }
            require(manager.listMounts().isEmpty(), "mounts left: " + manager.listMounts());
        }
        for (int i = 0; i < THREADS; i++) {
            require(pool.kernelFree(i), "nbd" + i + " is still connected");
        }
        System.out.printf("GUEST stress: %d operations from %d threads in %d ms%n", ops, THREADS,
                (System.nanoTime() - start) / 1_000_000);
        new TreeMap<>(latencies).forEach((op, list) -> {
            List<Long> sorted = list.stream().sorted().toList();
            System.out.printf("GUEST stress %s: count %d, p50 %d ms, p90 %d ms, p99 %d ms, max %d ms%n", op,
                    sorted.size(), at(sorted, 50), at(sorted, 90), at(sorted, 99), sorted.getLast());
        });
    }

    private static void worker(MountManager manager, TemplateId template, BuildId build, Path mine, String file,
                               String sum, Random random, AtomicInteger left, Map<String, List<Long>> latencies)
            throws Exception {
        MountInfo mounted = null;
        while (left.getAndDecrement() > 0) {
            long start = System.nanoTime();
            String op;
            if (mounted == null) {
                op = "mount";
                mounted = manager.mountTemplate(template, build, mine,
                        MountOptions.defaults().withReadOnly(random.nextBoolean()));
            } else {
                int pick = random.nextInt(4);
                if (pick == 0) {
                    op = "list";
                    List<MountInfo> all = manager.listMounts();
                    Set<Path> devices = new HashSet<>();
                    for (MountInfo info : all) {
                        require(devices.add(info.devicePath()), info.devicePath() + " is listed twice: " + all);
                        require(info.problem() == null, info.mountPath() + ": " + info.problem());
                    }
                    MountInfo own = mounted;
                    require(all.stream().anyMatch(m -> m.id().equals(own.id())), "own mount not listed: " + own);
                } else if (pick == 1) {
                    op = "read";
                    require(Trees.sha256(mine.resolve(file)).equals(sum), "read wrong bytes of " + file);
                } else if (pick == 2 && !mounted.readOnly()) {
                    op = "commit";
                    Files.writeString(mine.resolve("note-" + random.nextInt(1000) + ".txt"), "stress\n");
                    require(manager.commit(mine, null).changed(), "the commit stored nothing");
                } else {
                    op = "unmount";
                    manager.unmountTemplate(mine);
                    mounted = null;
                }
            }
            latencies.computeIfAbsent(op, k -> java.util.Collections.synchronizedList(new ArrayList<>()))
                    .add((System.nanoTime() - start) / 1_000_000);
        }
        if (mounted != null) {
            manager.unmountTemplate(mine);
        }
    }

    private static long at(List<Long> sorted, int percentile) {
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(percentile / 100.0 * sorted.size()) - 1));
    }

    private static void require(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }
}
