package io.tmount.store;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A build's {@code metadata.json}. {@code buildAliases} maps the header UUIDs of builds in this build's chain whose
 * ids are not UUIDs back to their ids (store folders); e2b builds never need it. e2b writes {@code {"version":2,
 * "template":{"build_id",...},"context":...,"start":...}}; tmount adds the template id (where older e2b versions kept
 * it, in {@code template}) and a {@code tmount} section. Fields tmount did not find are null: e2b's own form has no
 * template id. {@code e2b} is the document as read, less tmount's section: a new layer starts from its parent's, so
 * what e2b recorded of the template (user, workdir, start command, kernel ...) carries over. {@code digestBlockSize}
 * says that the build was stored with tmount's per-block SHA-256 list (of blocks of that size), so a missing list
 * is noticed instead of silently read as "nothing to check" (null: stored without one, as e2b's builds are).
 */
public record BuildMetadata(
        BuildId buildId,
        TemplateId templateId,
        BuildId parentBuildId,
        Instant createdAt,
        Long sizeBytes,
        String kernelVersion,
        String firecrackerVersion,
        Map<UUID, BuildId> buildAliases,
        ObjectNode e2b,
        Integer digestBlockSize,
        List<StepBuild> steps) {

    public BuildMetadata {
        buildAliases = buildAliases == null ? Map.of() : Map.copyOf(buildAliases);
        e2b = e2b == null ? null : e2b.deepCopy();
        steps = steps == null ? List.of() : List.copyOf(steps);
    }

    public BuildMetadata(BuildId buildId, TemplateId templateId, BuildId parentBuildId, Instant createdAt,
                         Long sizeBytes, String kernelVersion, String firecrackerVersion,
                         Map<UUID, BuildId> buildAliases, ObjectNode e2b, Integer digestBlockSize) {
        this(buildId, templateId, parentBuildId, createdAt, sizeBytes, kernelVersion, firecrackerVersion,
                buildAliases, e2b, digestBlockSize, List.of());
    }

    /** The same, recording the steps of the template build that made it (see {@link StepBuild}). */
    public BuildMetadata withSteps(List<StepBuild> value) {
        return new BuildMetadata(buildId, templateId, parentBuildId, createdAt, sizeBytes, kernelVersion,
                firecrackerVersion, buildAliases, e2b, digestBlockSize, value);
    }

    public BuildMetadata(BuildId buildId, TemplateId templateId, BuildId parentBuildId, Instant createdAt,
                         Long sizeBytes, String kernelVersion, String firecrackerVersion,
                         Map<UUID, BuildId> buildAliases) {
        this(buildId, templateId, parentBuildId, createdAt, sizeBytes, kernelVersion, firecrackerVersion,
                buildAliases, null, null);
    }

    /** The same, marked as stored with a digest list of {@code blockSize} blocks. */
    public BuildMetadata withDigests(int blockSize) {
        return new BuildMetadata(buildId, templateId, parentBuildId, createdAt, sizeBytes, kernelVersion,
                firecrackerVersion, buildAliases, e2b, blockSize, steps);
    }

    public static BuildMetadata forNewBuild(BuildId buildId, TemplateId templateId, BuildId parent, long sizeBytes,
                                            Instant createdAt) {
        return new BuildMetadata(buildId, templateId, parent, createdAt, sizeBytes, "", "", Map.of(), null, null);
    }

    /** The same, for a layer whose chain includes builds with non-UUID ids (see {@link BuildId#uuid()}). */
    public BuildMetadata withBuildAliases(Map<UUID, BuildId> aliases) {
        return new BuildMetadata(buildId, templateId, parentBuildId, createdAt, sizeBytes, kernelVersion,
                firecrackerVersion, aliases, e2b, digestBlockSize, steps);
    }

    /** The same, keeping what e2b recorded of the parent build (its document, kernel and Firecracker versions). */
    public BuildMetadata withE2bFrom(BuildMetadata parent) {
        if (parent == null) {
            return this;
        }
        return new BuildMetadata(buildId, templateId, parentBuildId, createdAt, sizeBytes,
                parent.kernelVersion() == null ? kernelVersion : parent.kernelVersion(),
                parent.firecrackerVersion() == null ? firecrackerVersion : parent.firecrackerVersion(),
                buildAliases, parent.e2b(), digestBlockSize, steps);
    }
}
