package io.tmount.store;

import java.time.Instant;

/** One build as listed by {@code tmount template list}; templateId is null for e2b builds that do not record it. */
public record BuildSummary(BuildId buildId, TemplateId templateId, long rootfsBytes, boolean layered, Instant createdAt) {
}
