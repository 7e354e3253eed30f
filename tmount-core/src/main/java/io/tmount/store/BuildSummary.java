package io.tmount.store;

import io.tmount.compress.Compression;

import java.time.Instant;

/**
 * One build as listed by {@code tmount template list}: the bytes and compression of its data object (0 bytes: a
 * layer with no blocks of its own), whether it has a header; templateId is null for e2b builds that do not record it.
 */
public record BuildSummary(BuildId buildId, TemplateId templateId, long storedBytes, Compression compression,
                           boolean layered, Instant createdAt) {
}
