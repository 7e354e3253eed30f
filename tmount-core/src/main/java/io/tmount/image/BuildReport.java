package io.tmount.image;

import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What {@code tmount inspect} shows of a build: device size, block size, generation, whether it is headerless, and
 * the chain of layers with the bytes each contributes (a null build: ranges that read as zeros).
 */
public record BuildReport(BuildId build, TemplateId template, BuildId parent, long size, long blockSize,
                          long generation, boolean headerless, int mappings, List<Layer> layers) {

    /** One build of the chain and how many bytes of the device it holds. */
    public record Layer(BuildId build, long bytes) {
    }

    public static BuildReport of(TemplateStore store, BuildId build) {
        BuildLayout layout = BuildLayout.read(store, build);
        var metadata = store.metadata(build);
        List<Layer> layers = new ArrayList<>();
        for (Map.Entry<UUID, Long> share : layout.contributions().entrySet()) {
            BuildId folder = BuildMapping.NIL.equals(share.getKey()) ? null : layout.folderOf(share.getKey());
            layers.add(new Layer(folder, share.getValue()));
        }
        Header header = layout.header();
        return new BuildReport(build, metadata.map(BuildMetadata::templateId).orElse(null),
                metadata.map(BuildMetadata::parentBuildId).orElse(null), header.size(), header.blockSize(),
                header.generation(), layout.headerless(), header.mappings().size(), layers);
    }
}
