package io.tmount.store;

import java.time.Instant;
import java.util.Map;
import java.util.UUID;

/**
 * A build's {@code metadata.json}. {@code buildAliases} maps the header UUIDs of builds in this build's chain whose
 * ids are not UUIDs back to their ids (store folders); e2b builds never need it. e2b writes {@code {"version":2,"template":{"build_id",...}}}; tmount adds the
 * template id (where older e2b versions kept it, in {@code template}) and a {@code tmount} section. Fields tmount
 * did not find are null: e2b's own form has no template id.
 */
public record BuildMetadata(
        BuildId buildId,
        TemplateId templateId,
        BuildId parentBuildId,
        Instant createdAt,
        Long sizeBytes,
        String kernelVersion,
        String firecrackerVersion,
        Map<UUID, BuildId> buildAliases) {

    public BuildMetadata {
        buildAliases = buildAliases == null ? Map.of() : Map.copyOf(buildAliases);
    }

    public static BuildMetadata forNewBuild(BuildId buildId, TemplateId templateId, BuildId parent, long sizeBytes,
                                            Instant createdAt) {
        return new BuildMetadata(buildId, templateId, parent, createdAt, sizeBytes, "", "", Map.of());
    }

    /** The same, for a layer whose chain includes builds with non-UUID ids (see {@link BuildId#uuid()}). */
    public BuildMetadata withBuildAliases(Map<UUID, BuildId> aliases) {
        return new BuildMetadata(buildId, templateId, parentBuildId, createdAt, sizeBytes, kernelVersion,
                firecrackerVersion, aliases);
    }
}
