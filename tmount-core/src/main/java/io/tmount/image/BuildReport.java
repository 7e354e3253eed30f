package io.tmount.image;

import io.tmount.compress.Compression;
import io.tmount.header.BuildData;
import io.tmount.header.Header;
import io.tmount.header.HeaderCodec;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.ObjectInfo;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * What {@code tmount inspect} shows of a build: device size, block size, generation, header version, whether it is
 * headerless, and the chain of layers: for each, the bytes of the device it holds, its own header's version, how
 * its data object is stored (compression, frames, stored and uncompressed bytes), its SHA-256 when a header records
 * one, and whether it has a data object at all (a layer with no blocks of its own has none). A layer without a
 * build holds the ranges that read as zeros. For a template build, {@code steps} are its steps and the build each
 * left (see {@link io.tmount.store.StepBuild}); empty otherwise.
 */
public record BuildReport(BuildId build, TemplateId template, BuildId parent, long size, long blockSize,
                          long generation, int headerVersion, boolean headerless, int mappings, List<Layer> layers,
                          List<io.tmount.store.StepBuild> steps) {

    /** One build of the chain; for the zero ranges, every field but {@code bytes} is empty. */
    public record Layer(BuildId build, long bytes, Integer headerVersion, String compression, int frames,
                        long storedBytes, long uncompressedBytes, String sha256, boolean hasData) {
    }

    public static BuildReport of(TemplateStore store, BuildId build) {
        BuildLayout layout = BuildLayout.read(store, build);
        var metadata = store.metadata(build);
        Map<UUID, Long> shares = new LinkedHashMap<>(layout.contributions());
        shares.putIfAbsent(build.uuid(), 0L); // a layer holding nothing of its own still belongs to the chain
        List<Layer> layers = new ArrayList<>();
        for (Map.Entry<UUID, Long> share : shares.entrySet()) {
            if (share.getKey().equals(io.tmount.header.BuildMapping.NIL)) {
                layers.add(new Layer(null, share.getValue(), null, null, 0, 0, 0, null, false));
            } else {
                layers.add(layer(store, layout, share.getKey(), share.getValue()));
            }
        }
        Header header = layout.header();
        return new BuildReport(build, metadata.map(BuildMetadata::templateId).orElse(null),
                metadata.map(BuildMetadata::parentBuildId).orElse(null), header.size(), header.blockSize(),
                header.generation(), header.format(), layout.headerless(), header.mappings().size(), layers,
                metadata.map(BuildMetadata::steps).orElse(List.of()));
    }

    private static Layer layer(TemplateStore store, BuildLayout layout, UUID uuid, long bytes) {
        LayerData data = layout.layers().get(uuid);
        BuildId folder = data != null ? data.folder() : layout.build();
        Optional<Header> own = folder.equals(layout.build()) && !layout.headerless() ? Optional.of(layout.header())
                : store.headerBytes(folder, HeaderCodec.MAX_HEADER_BYTES)
                        .map(b -> HeaderCodec.read(b, "the header of build " + folder));
        BuildData self = own.map(h -> h.build(h.buildId())).orElse(null);
        Integer version = own.map(Header::format).orElse(null);
        if (data == null) { // no mapping reads it: look for a data object anyway
            for (Compression c : Compression.values()) {
                Optional<ObjectInfo> info = store.info(TemplateStore.dataKey(folder, c));
                if (info.isPresent()) {
                    return new Layer(folder, bytes, version, c.label(), self == null ? 0 : self.frames().count(),
                            info.get().size(), self == null || self.size() == 0 ? info.get().size() : self.size(),
                            self == null ? null : self.sha256(), true);
                }
            }
            return new Layer(folder, bytes, version, Compression.NONE.label(), 0, 0, 0, null, false);
        }
        // the build's own record is the whole table; a descendant's is trimmed to what it maps
        int frames = self != null && self.compressed() ? self.frames().count() : data.frames().count();
        String sha = data.sha256() != null ? data.sha256() : self == null ? null : self.sha256();
        return new Layer(folder, bytes, version, data.compression().label(), frames, data.object().size(),
                data.size(), sha, true);
    }
}
