package io.tmount.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/** Reads and writes metadata.json in e2b's shape, tolerant of fields it does not know. */
final class MetadataJson {

    static final int E2B_VERSION = 2;

    private final ObjectMapper mapper;

    MetadataJson(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /**
     * The document of a new build: its parent's e2b document when it has one (what e2b recorded of the template
     * carries over), with this build's ids, and {@code filesystem_only}: a tmount build is a root filesystem without
     * memory snapshot, which e2b's orchestrator boots afresh (its reboot path) instead of resuming.
     */
    byte[] write(BuildMetadata metadata) throws IOException {
        ObjectNode root = metadata.e2b() != null ? metadata.e2b().deepCopy() : mapper.createObjectNode();
        root.remove("tmount");
        root.put("version", Math.max(E2B_VERSION, root.path("version").asInt(0)));
        ObjectNode template = root.path("template") instanceof ObjectNode existing ? existing : root.putObject("template");
        template.put("build_id", metadata.buildId().value());
        template.put("kernel_version", nullToEmpty(metadata.kernelVersion()));
        template.put("firecracker_version", nullToEmpty(metadata.firecrackerVersion()));
        if (metadata.templateId() != null) {
            template.put("template_id", metadata.templateId().value());
        }
        root.put("filesystem_only", true);
        ObjectNode tmount = root.putObject("tmount");
        if (metadata.templateId() != null) {
            tmount.put("template_id", metadata.templateId().value());
        }
        if (metadata.parentBuildId() != null) {
            tmount.put("parent_build_id", metadata.parentBuildId().value());
        }
        if (metadata.createdAt() != null) {
            tmount.put("created_at", metadata.createdAt().toString());
        }
        if (metadata.sizeBytes() != null) {
            tmount.put("size_bytes", metadata.sizeBytes());
        }
        if (metadata.digestBlockSize() != null) {
            tmount.put("digest_block_size", metadata.digestBlockSize());
        }
        if (!metadata.buildAliases().isEmpty()) {
            ObjectNode aliases = tmount.putObject("build_ids");
            metadata.buildAliases().entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> aliases.put(e.getKey().toString(), e.getValue().value()));
        }
        if (!metadata.steps().isEmpty()) {
            var steps = tmount.putArray("steps");
            for (StepBuild step : metadata.steps()) {
                ObjectNode node = steps.addObject();
                node.put("number", step.number());
                node.put("step", step.step());
                if (step.build() != null) {
                    node.put("build_id", step.build().value());
                }
                node.put("cached", step.cached());
            }
        }
        return mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
    }

    /** Parses the document; {@code folderBuildId} is used when the document does not name its build. */
    BuildMetadata read(byte[] json, BuildId folderBuildId) throws IOException {
        JsonNode root = mapper.readTree(json);
        if (root == null || !root.isObject()) {
            throw new IOException("metadata.json is not a JSON object");
        }
        JsonNode template = root.path("template");
        JsonNode tmount = root.path("tmount");
        String buildId = text(template, "build_id");
        String templateId = text(tmount, "template_id");
        if (templateId == null) {
            templateId = text(template, "template_id");
        }
        String parent = text(tmount, "parent_build_id");
        String created = text(tmount, "created_at");
        JsonNode size = tmount.path("size_bytes");
        JsonNode digests = tmount.path("digest_block_size");
        try {
            Map<UUID, BuildId> aliases = new HashMap<>();
            tmount.path("build_ids").properties().forEach(e ->
                    aliases.put(UUID.fromString(e.getKey()), BuildId.of(e.getValue().asText())));
            java.util.List<StepBuild> steps = new java.util.ArrayList<>();
            for (JsonNode step : tmount.path("steps")) {
                String stepBuild = text(step, "build_id");
                steps.add(new StepBuild(step.path("number").asInt(), step.path("step").asText(),
                        stepBuild == null ? null : BuildId.of(stepBuild), step.path("cached").asBoolean()));
            }
            ObjectNode e2b = ((ObjectNode) root).deepCopy();
            e2b.remove("tmount");
            return new BuildMetadata(
                    buildId == null ? folderBuildId : BuildId.of(buildId),
                    templateId == null ? null : TemplateId.of(templateId),
                    parent == null ? null : BuildId.of(parent),
                    created == null ? null : Instant.parse(created),
                    size.isNumber() ? size.asLong() : null,
                    text(template, "kernel_version"),
                    text(template, "firecracker_version"),
                    aliases,
                    e2b,
                    digests.isInt() ? digests.asInt() : null,
                    steps);
        } catch (RuntimeException e) {
            throw new IOException("metadata.json has an invalid field: " + e.getMessage(), e);
        }
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isTextual() && !value.asText().isEmpty() ? value.asText() : null;
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
