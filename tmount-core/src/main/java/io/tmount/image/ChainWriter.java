package io.tmount.image;

import io.tmount.header.BuildMapping;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * New builds made from a stored build without a mount: a layer with nothing of its own (the same content under a
 * new id, which e2b stores as a header alone), or the whole chain's content as one base build (a squash).
 */
public final class ChainWriter {

    private static final int COPY = 4 << 20;

    private final TemplateStore store;
    private final BuildImages images;
    private final Path scratch;

    /** {@code scratch}: where a squash assembles the device before it is stored. */
    public ChainWriter(BuildImages images, Path scratch) {
        this.store = images.store();
        this.images = images;
        this.scratch = scratch;
    }

    /**
     * Stores {@code newBuild} of {@code template} as a layer over {@code parent} holding nothing of its own;
     * {@code metadata} adds to what the new build's metadata says (its steps, say).
     */
    public BuildWriter.Written alias(BuildId parent, BuildId newBuild, TemplateId template, WriteFormat format,
                                     UnaryOperator<BuildMetadata> metadata) throws IOException {
        BuildLayout layout = images.layout(parent);
        BuildMetadata meta = metadata.apply(BuildMetadata.forNewBuild(newBuild, template, parent,
                layout.header().size(), Instant.now()).withBuildAliases(layout.aliasesWith(newBuild))
                .withE2bFrom(store.metadata(parent).orElse(null)));
        LayerDiff.Result nothing = new LayerDiff.Result(layout.header().mappings(), 0, 0);
        return new BuildWriter(store, scratch).writeLayer(layout, meta, nothing, null, format);
    }

    /**
     * Stores the device of {@code build} (read through the shared chunk caches) as {@code newBuild}, a base build of
     * {@code template} with no parent: one layer however deep the chain was. Blocks the chain maps to zeros stay holes
     * in the scratch file.
     */
    public BuildWriter.Written squash(BuildId build, BuildId newBuild, TemplateId template, WriteFormat format,
                                      UnaryOperator<BuildMetadata> metadata) throws IOException {
        BuildLayout layout = images.layout(build);
        LayeredImage device = images.open(layout);
        Files.createDirectories(scratch);
        Path image = Files.createTempFile(scratch, "squash-", ".ext4");
        try {
            try (FileChannel out = FileChannel.open(image, StandardOpenOption.WRITE)) {
                out.truncate(0);
                ByteBuffer buffer = ByteBuffer.allocateDirect(COPY);
                for (BuildMapping m : layout.mappings()) {
                    if (m.zeros()) {
                        continue;
                    }
                    for (long at = m.offset(); at < m.end(); ) {
                        int n = (int) Math.min(COPY, m.end() - at);
                        buffer.clear().limit(n);
                        device.read(buffer, at);
                        buffer.flip();
                        for (long to = at; buffer.hasRemaining(); ) {
                            to += out.write(buffer, to);
                        }
                        at += n;
                    }
                }
                if (out.size() < layout.header().size()) {
                    out.write(ByteBuffer.allocate(1), layout.header().size() - 1); // trailing zeros: a hole, sized
                }
                out.force(true);
            }
            BuildMetadata meta = metadata.apply(BuildMetadata.forNewBuild(newBuild, template, null,
                    layout.header().size(), Instant.now()).withE2bFrom(store.metadata(build).orElse(null)));
            return new BuildWriter(store, scratch).writeBase(meta, image, format);
        } finally {
            Files.deleteIfExists(image);
        }
    }

    /** The mappings of a build, for callers that compare chains (how many layers a device reads from). */
    public List<BuildMapping> mappings(BuildId build) {
        return images.layout(build).mappings();
    }
}
