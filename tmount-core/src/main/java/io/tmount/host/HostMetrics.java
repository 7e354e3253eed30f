package io.tmount.host;

import io.tmount.device.AttachBackend;
import io.tmount.device.Attachers;
import io.tmount.device.KernelNbdAttacher;
import io.tmount.export.Exports;
import io.tmount.image.CacheStats;
import io.tmount.metrics.Metrics;
import io.tmount.mount.MountInfo;
import io.tmount.mount.MountManager;

import java.util.List;
import java.util.Map;

/** The metrics read at scrape time from what the mounts, exports, chunk caches and nbd pool already keep. */
final class HostMetrics {

    private static final String[] NONE = new String[0];

    private HostMetrics() {
    }

    static void register(Metrics metrics, MountManager mounts, Exports exports, Attachers attachers) {
        metrics.gauge("tmount_mounts", "Active mounts by state (ok, or problem: see tmount list) and attach backend",
                new String[]{"state", "attach"}, sample -> {
                    List<MountInfo> all = mounts.listMounts();
                    for (String state : List.of("ok", "problem")) {
                        for (AttachBackend backend : AttachBackend.values()) {
                            long count = all.stream().filter(m -> m.attach() == backend)
                                    .filter(m -> (m.problem() == null) == state.equals("ok")).count();
                            sample.call(count, state, backend.id());
                        }
                    }
                });
        metrics.gauge("tmount_exports", "Active NBD exports", NONE, sample -> sample.call(exports.list().size()));
        metrics.gauge("tmount_overlay_bytes", "Bytes of each writable mount's own writes (its overlay)",
                new String[]{"mount"}, sample -> {
                    for (Map.Entry<java.nio.file.Path, Long> overlay : mounts.overlayBytes().entrySet()) {
                        sample.call(overlay.getValue(), overlay.getKey().toString());
                    }
                });
        metrics.gauge("tmount_cache_bytes", "Chunk cache bytes present on disk, and its budget",
                new String[]{"kind"}, sample -> {
                    MountManager.CacheReport report = mounts.cacheReport();
                    sample.call(report.usedBytes(), "used");
                    sample.call(report.maxBytes(), "max");
                });
        metrics.counter("tmount_cache_hits_total", "Chunk cache reads served from chunks already present", NONE,
                sample -> sample.call(sum(mounts, CacheStats::hits)));
        metrics.counter("tmount_cache_misses_total", "Chunks fetched from the store (reads that missed)", NONE,
                sample -> sample.call(sum(mounts, CacheStats::fetches)));
        metrics.counter("tmount_cache_fetched_bytes_total", "Bytes fetched from the store into the chunk cache",
                NONE, sample -> sample.call(sum(mounts, CacheStats::fetchedBytes)));
        metrics.counter("tmount_cache_evicted_bytes_total", "Bytes of chunks evicted to stay within the budget",
                NONE, sample -> sample.call(mounts.images().budget().evictedBytes()));
        try {
            if (attachers.get(AttachBackend.KERNEL_NBD) instanceof KernelNbdAttacher kernel) {
                metrics.gauge("tmount_nbd_pool_devices", "The kernel nbd device pool: its size and devices in use",
                        new String[]{"kind"}, sample -> {
                            sample.call(kernel.pool().size(), "size");
                            sample.call(kernel.pool().inUse(), "in_use");
                        });
            }
        } catch (RuntimeException notConfigured) {
            // no kernel-nbd backend here: no pool to show
        }
    }

    private static double sum(MountManager mounts, java.util.function.ToLongFunction<CacheStats> field) {
        return mounts.cacheReport().objects().stream().mapToLong(field).sum();
    }
}
