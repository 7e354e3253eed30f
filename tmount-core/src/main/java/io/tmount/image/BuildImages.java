package io.tmount.image;

import io.tmount.header.BuildMapping;
import io.tmount.TmountException;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds as block images: resolves a build's layout and serves it from one {@link BuildData} per build object (the
 * store's own file where it is on this host, else a chunk cache), shared by every mount and every chain that reads
 * that object. Owns them; they stay open until this is closed.
 */
public final class BuildImages implements AutoCloseable {

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(BuildImages.class);

    private final TemplateStore store;
    private final Path cacheRoot;
    private final int chunkSize;
    private final CacheBudget budget;
    private final FetchPolicy policy;
    private final FetchPipeline pipeline;
    private final Map<String, BuildData> caches = new ConcurrentHashMap<>();

    public BuildImages(TemplateStore store, Path cacheRoot, int chunkSize, CacheBudget budget, FetchPolicy policy) {
        this.store = store;
        this.cacheRoot = cacheRoot;
        this.chunkSize = chunkSize;
        this.budget = budget;
        this.policy = policy;
        this.pipeline = FetchPipeline.of(policy);
    }

    /** With the default fetch policy. */
    public BuildImages(TemplateStore store, Path cacheRoot, int chunkSize, CacheBudget budget) {
        this(store, cacheRoot, chunkSize, budget, FetchPolicy.DEFAULT);
    }

    public TemplateStore store() {
        return store;
    }

    /** The chunk size of builds' caches (a compressed build may use its frame size instead). */
    public int chunkSize() {
        return chunkSize;
    }

    public BuildLayout layout(BuildId build) {
        return BuildLayout.read(store, build);
    }

    /** The build's device, read lazily through the shared caches. */
    public LayeredImage open(BuildLayout layout) {
        List<LayeredImage.Segment> segments = new ArrayList<>();
        Map<UUID, BuildData> opened = new HashMap<>();
        for (BuildMapping m : layout.mappings()) {
            BuildData cache = m.zeros() ? null : opened.computeIfAbsent(m.buildId(), uuid -> cache(layout.layer(uuid)));
            segments.add(new LayeredImage.Segment(m, cache));
        }
        return new LayeredImage(layout.header().size(), segments);
    }

    /**
     * The shared data of a build's object: the store's own file where the store is a folder on this host and the object
     * is stored as it is, else a chunk cache. A compressed object's cache learns the frames each header lists (headers
     * trim their tables to what they map).
     */
    private BuildData cache(LayerData layer) {
        BuildData data = caches.computeIfAbsent(layer.key(), key -> {
            try {
                return open(layer);
            } catch (IOException e) {
                throw TmountException.failed(e, "cannot open the chunk cache of build %s", layer.folder());
            }
        });
        if (!(data instanceof ChunkCache cache)) {
            return data;
        }
        ChunkSource source = cache.source() instanceof VerifiedSource verified ? verified.unverified() : cache.source();
        if (source instanceof FramedObject framed) {
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

    private BuildData open(LayerData layer) throws IOException {
        String key = layer.key();
        ChunkDigests digests = digests(layer);
        if (!layer.compressed() && !policy.copyLocalStore()) {
            Optional<StoreFile> local = StoreFile.open(store.objects(), key, layer.object(), chunkSize, digests,
                    pipeline);
            if (local.isPresent()) {
                return local.get();
            }
        }
        ChunkSource raw = layer.compressed()
                ? new FramedObject(store.objects(), key, layer.object(), layer.size(), layer.frames())
                : new StoredObject(store.objects(), key, layer.object());
        ChunkSource source = digests == null ? raw : new VerifiedSource(raw, digests);
        // a compressed object's cache sits beside the stored one: '@' is never part of a build id
        String dir = layer.folder().value() + (layer.compressed() ? "@" + layer.compression().label() : "");
        return ChunkCache.open(source, chunkSizeFor(layer), cacheRoot.resolve(dir), budget, pipeline);
    }

    /**
     * The digests the build's data is checked against as it is read, where tmount stored a list (every build it
     * writes) and its blocks divide the chunks; null where there is none to check against: e2b's builds have none
     * (their one SHA-256 covers the whole object, which {@code tmount verify} checks).
     */
    private ChunkDigests digests(LayerData layer) {
        Optional<byte[]> stored = store.digests(layer.folder());
        if (stored.isEmpty()) {
            if (store.metadata(layer.folder()).map(BuildMetadata::digestBlockSize).isPresent()) {
                // said loudly, but served: e2b reads such a build (its copy-build, say, copies what it knows), and
                // nothing e2b reads may be refused; `tmount verify` reports it as a problem
                log.error("build {} was stored with a digest list ({}), which is missing: its data is served "
                        + "unchecked; restore the object, or check the build with `tmount verify`", layer.folder(),
                        TemplateStore.digestsKey(layer.folder()));
            }
            return null;
        }
        ChunkDigests digests;
        try {
            digests = ChunkDigests.parse(stored.get());
        } catch (IOException | IllegalArgumentException e) {
            throw TmountException.failed(e, "the digest list of build %s (%s) is damaged or does not fit its data",
                    layer.folder(), TemplateStore.digestsKey(layer.folder()));
        }
        long dataSize = layer.compressed() ? layer.size() : layer.object().size();
        if (digests.dataSize() != dataSize) {
            throw TmountException.failed(new IllegalArgumentException("the digest list covers " + digests.dataSize()
                    + " bytes, the object " + layer.key() + " has " + dataSize),
                    "the digest list of build %s (%s) is damaged or does not fit its data", layer.folder(),
                    TemplateStore.digestsKey(layer.folder()));
        }
        if (!digests.fits(chunkSizeFor(layer))) {
            log.warn("the digest blocks of build {} ({} bytes) do not divide its chunks ({} bytes): its data is "
                    + "not checked as it is read", layer.folder(), digests.blockSize(), chunkSizeFor(layer));
            return null;
        }
        return digests;
    }

    /**
     * The chunk size of a build's cache: for a compressed one whose frames are all one power-of-two size below the
     * chunk size (e2b's 2 MiB), a frame per chunk, so a small read decodes one frame rather than all in a chunk.
     */
    private int chunkSizeFor(LayerData layer) {
        var frames = layer.frames();
        if (!layer.compressed() || frames.count() == 0) {
            return chunkSize;
        }
        int frame = frames.sizeU(0);
        for (int i = 0; i < frames.count() - 1; i++) {
            if (frames.sizeU(i) != frame) {
                return chunkSize;
            }
        }
        return frame < chunkSize && frame >= 4096 && Integer.bitCount(frame) == 1
                && frames.startU(0) % frame == 0 ? frame : chunkSize;
    }

    public List<CacheStats> stats() {
        return caches.values().stream().map(BuildData::stats).sorted(java.util.Comparator.comparing(CacheStats::object)).toList();
    }

    public CacheBudget budget() {
        return budget;
    }

    @Override
    public void close() throws IOException {
        IOException failure = null;
        for (BuildData cache : caches.values()) {
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
