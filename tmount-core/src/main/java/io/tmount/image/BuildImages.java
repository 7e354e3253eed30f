package io.tmount.image;

import io.tmount.header.BuildMapping;
import io.tmount.TmountException;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
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
    private final Map<String, ChunkCache> caches = new ConcurrentHashMap<>();

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
        Map<UUID, ChunkCache> opened = new HashMap<>();
        for (BuildMapping m : layout.mappings()) {
            ChunkCache cache = m.zeros() ? null : opened.computeIfAbsent(m.buildId(), uuid -> cache(layout.layer(uuid)));
            segments.add(new LayeredImage.Segment(m, cache));
        }
        return new LayeredImage(layout.header().size(), segments);
    }

    /**
     * The shared cache of a build's data object. A compressed object's cache learns the frames each header lists
     * (headers trim their tables to what they map).
     */
    private ChunkCache cache(LayerData layer) {
        ChunkCache cache = caches.computeIfAbsent(layer.key(), key -> {
            try {
                ChunkSource source = layer.compressed()
                        ? new FramedObject(store.objects(), key, layer.object(), layer.size(), layer.frames())
                        : new StoredObject(store.objects(), key, layer.object());
                // a compressed object's cache sits beside the stored one: '@' is never part of a build id
                String dir = layer.folder().value() + (layer.compressed() ? "@" + layer.compression().label() : "");
                return ChunkCache.open(source, chunkSize, cacheRoot.resolve(dir), budget);
            } catch (IOException e) {
                throw TmountException.failed(e, "cannot open the chunk cache of build %s", layer.folder());
            }
        });
        if (cache.source() instanceof FramedObject framed) {
            try {
                if (framed.size() != layer.size()) {
                    throw new IllegalArgumentException("headers disagree on its uncompressed size (" + framed.size()
                            + " and " + layer.size() + ")");
                }
                framed.addFrames(layer.frames());
            } catch (IllegalArgumentException e) {
                throw TmountException.failed(e, "build %s (%s) is described differently by the headers that map to it",
                        layer.folder(), layer.key());
            }
        }
        return cache;
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
