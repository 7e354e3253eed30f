package io.tmount.image;

import io.tmount.TmountException;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds as block images: resolves a build's layout and serves it from one chunk cache per build object, shared by
 * every mount and every chain that reads that object. Owns the caches; they stay open until this is closed.
 */
public final class BuildImages implements AutoCloseable {

    private final TemplateStore store;
    private final Path cacheRoot;
    private final int chunkSize;
    private final CacheBudget budget;
    private final Map<BuildId, ChunkCache> caches = new ConcurrentHashMap<>();

    public BuildImages(TemplateStore store, Path cacheRoot, int chunkSize, CacheBudget budget) {
        this.store = store;
        this.cacheRoot = cacheRoot;
        this.chunkSize = chunkSize;
        this.budget = budget;
    }

    public TemplateStore store() {
        return store;
    }

    public BuildLayout layout(BuildId build) {
        return BuildLayout.read(store, build);
    }

    /** The build's device, read lazily through the shared caches. */
    public LayeredImage open(BuildLayout layout) {
        List<LayeredImage.Segment> segments = new ArrayList<>();
        for (BuildMapping m : layout.mappings()) {
            segments.add(new LayeredImage.Segment(m, m.zeros() ? null : cache(layout.folderOf(m.buildId()))));
        }
        return new LayeredImage(layout.header().size(), segments);
    }

    private ChunkCache cache(BuildId folder) {
        return caches.computeIfAbsent(folder, build -> {
            try {
                return ChunkCache.open(store.objects(), TemplateStore.rootfsKey(build), store.rootfsInfo(build),
                        chunkSize, cacheRoot.resolve(build.value()), budget);
            } catch (IOException e) {
                throw TmountException.failed(e, "cannot open the chunk cache of build %s", build);
            }
        });
    }

    public List<CacheStats> stats() {
        return caches.values().stream().map(ChunkCache::stats).sorted(java.util.Comparator.comparing(CacheStats::object)).toList();
    }

    public CacheBudget budget() {
        return budget;
    }

    @Override
    public void close() throws IOException {
        IOException failure = null;
        for (ChunkCache cache : caches.values()) {
            try {
                cache.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        caches.clear();
        if (failure != null) {
            throw failure;
        }
    }
}
