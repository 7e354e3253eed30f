package io.tmount.export;

import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;

/** What an export serves: a template build from the store (streamed through the chunk caches) or a raw image file. */
public sealed interface ExportSource {

    record Build(TemplateId template, BuildId build) implements ExportSource {
    }

    /** A plain raw file on this host; it is only read, writes go to the export's overlay. */
    record RawFile(Path image) implements ExportSource {
    }
}
