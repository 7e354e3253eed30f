package io.tmount.store;

import java.time.Instant;

/**
 * A build's {@code metadata.json}. e2b writes {@code {"version":2,"template":{"build_id",...}}}; tmount adds the
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
        String firecrackerVersion) {

    public static BuildMetadata forNewBuild(BuildId buildId, TemplateId templateId, BuildId parent, long sizeBytes,
                                            Instant createdAt) {
        return new BuildMetadata(buildId, templateId, parent, createdAt, sizeBytes, "", "");
    }
}
