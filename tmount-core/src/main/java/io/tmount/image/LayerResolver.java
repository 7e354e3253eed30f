package io.tmount.image;

import io.tmount.TmountException;
import io.tmount.compress.Compression;
import io.tmount.compress.FrameTable;
import io.tmount.header.BuildData;
import io.tmount.header.Header;
import io.tmount.header.HeaderCodec;
import io.tmount.store.BuildId;
import io.tmount.store.ObjectInfo;
import io.tmount.store.TemplateStore;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Finds the data object of each build a header maps to, as e2b's reader does. A version 4 or 5 header's Builds
 * entry says how the build is stored (a compressed entry names {@code rootfs.ext4.zstd} or {@code .lz4}, any other
 * {@code rootfs.ext4}). Without an entry (version 1 to 3 headers, or a gap left by an older writer) the build's own
 * header decides: none, or a version below 4, means plain {@code rootfs.ext4}; otherwise its entry for itself. So
 * V3 ancestors under V4/V5 children, V4/V5 ancestors under V3 children, and compressed builds anywhere in a chain
 * all resolve. Each data object is then checked against what the mappings need of it.
 */
final class LayerResolver {

    private final TemplateStore store;
    private final Header top;
    private final BuildId topFolder;
    private final String what;
    private final Map<BuildId, Optional<Header>> ownHeaders = new HashMap<>();

    LayerResolver(TemplateStore store, Header top, BuildId topFolder, String what) {
        this.store = store;
        this.top = top;
        this.topFolder = topFolder;
        this.what = what;
    }

    /** The data of build {@code uuid} in {@code folder}, which the mappings read at {@code ranges} (storage offsets). */
    LayerData resolve(UUID uuid, BuildId folder, List<long[]> ranges) {
        BuildData entry = top.build(uuid);
        LayerData layer;
        if (entry != null && entry.compressed()) {
            layer = compressed(uuid, folder, entry);
        } else if (entry != null && (!entry.unknown() || store.info(TemplateStore.rootfsKey(folder)).isPresent())) {
            layer = plain(uuid, folder, entry.size(), entry.sha256());
        } else {
            // no entry, or e2b's zero entry over a missing rootfs: the build's own header knows
            layer = byOwnHeader(uuid, folder);
        }
        check(layer, ranges);
        return layer;
    }

    private LayerData byOwnHeader(UUID uuid, BuildId folder) {
        Optional<Header> own = uuid.equals(top.buildId()) ? Optional.of(top) : ownHeader(folder);
        if (own.isEmpty() || !own.get().hasBuildsSection()) {
            return plain(uuid, folder, 0, null);
        }
        BuildData self = own.get().build(own.get().buildId());
        if (self != null && self.compressed()) {
            return compressed(uuid, folder, self);
        }
        return plain(uuid, folder, self == null ? 0 : self.size(), self == null ? null : self.sha256());
    }

    private Optional<Header> ownHeader(BuildId folder) {
        return ownHeaders.computeIfAbsent(folder, f -> store.headerBytes(f, HeaderCodec.MAX_HEADER_BYTES)
                .map(bytes -> HeaderCodec.read(bytes, "the header of build " + f)));
    }

    private LayerData plain(UUID uuid, BuildId folder, long recordedSize, String sha256) {
        String key = TemplateStore.rootfsKey(folder);
        ObjectInfo object = store.info(key).orElseThrow(() -> missing(folder, key));
        return new LayerData(uuid, folder, key, object, Compression.NONE, FrameTable.NONE,
                recordedSize > 0 ? recordedSize : object.size(), sha256);
    }

    /**
     * A compressed build. Headers trim the tables of other builds to the frames they map, but a chunk cache fetches
     * whole chunks, so the build's own header is asked for its whole table too (as e2b's reader refreshes it).
     */
    private LayerData compressed(UUID uuid, BuildId folder, BuildData entry) {
        Compression compression = entry.frames().compression();
        String key = TemplateStore.dataKey(folder, compression);
        ObjectInfo object = store.info(key).orElseThrow(() -> missing(folder, key));
        FrameTable frames = entry.frames();
        if (!uuid.equals(top.buildId())) {
            BuildData self = ownHeader(folder).map(h -> h.build(h.buildId())).orElse(null);
            if (self != null && self.compressed()) {
                try {
                    frames = frames.merge(self.frames());
                } catch (IllegalArgumentException e) {
                    throw fail("and the header of build %s disagree on its frames: %s", folder, e.getMessage());
                }
            }
        }
        long size = entry.size();
        if (size == 0) { // e2b asks the store: its own header's entry, or the local backend's sidecar
            size = ownHeader(folder).map(h -> h.build(h.buildId())).map(BuildData::size)
                    .filter(s -> s > 0).or(() -> store.uncompressedSizeSidecar(key))
                    .orElseThrow(() -> fail("records no uncompressed size for build %s, and neither its own header "
                            + "nor the store does", folder));
        }
        if (frames.endC() > object.size()) {
            throw fail("gives build %s a frame table ending at byte %d, but %s has only %d bytes (a short object)",
                    folder, frames.endC(), key, object.size());
        }
        return new LayerData(uuid, folder, key, object, compression, frames, size, entry.sha256());
    }

    /** The mappings must find every byte they read: within the data, and for a compressed build, in a frame. */
    private void check(LayerData layer, List<long[]> ranges) {
        for (long[] range : ranges) {
            if (range[1] > layer.size()) {
                throw fail("maps bytes up to offset %d of build %s, whose %s has only %d bytes", range[1],
                        layer.folder(), layer.compressed() ? "uncompressed data" : TemplateStore.ROOTFS, layer.size());
            }
            long gap = layer.frames().firstGap(range[0], range[1]);
            if (layer.compressed() && gap >= 0) {
                throw fail("maps bytes %d to %d of build %s, but its frame table has no frame for offset %d", range[0],
                        range[1], layer.folder(), gap);
            }
        }
    }

    private TmountException missing(BuildId folder, String key) {
        if (folder.equals(topFolder)) {
            return fail("maps bytes to this build itself, but its data object %s is missing from the store", key);
        }
        return fail("maps bytes to build %s, whose data object %s is missing from the store", folder, key);
    }

    private TmountException fail(String format, Object... args) {
        return new TmountException(TmountException.Kind.FAILED, what + " " + String.format(format, args));
    }
}
