package io.tmount.export;

import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;
import java.time.Instant;

/**
 * An active export.
 *
 * @param name        the NBD export name, unique among the exports
 * @param templateId  the template of the exported build (null for a raw file)
 * @param buildId     the exported build (null for a raw file)
 * @param image       the exported raw file (null for a build)
 * @param uri         the NBD URI clients connect to ({@code nbd+unix:///NAME?socket=PATH} or {@code nbd://HOST:PORT/NAME})
 * @param overlayPath the folder of the export's copy-on-write overlay (writable exports)
 */
public record ExportInfo(
        String id,
        String name,
        TemplateId templateId,
        BuildId buildId,
        Path image,
        String uri,
        boolean readOnly,
        Path overlayPath,
        Instant createdAt) {
}
