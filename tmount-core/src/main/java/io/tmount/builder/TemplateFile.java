package io.tmount.builder;

import io.tmount.ByteSize;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;
import java.util.List;

/**
 * A template build, e2b-like: the template the new build belongs to, what it starts from (a build of a template, or
 * an empty filesystem of a size), the folder COPY reads from, and the steps.
 *
 * @param fromTemplate with {@code fromBuild}: the base build (null for an empty start)
 * @param emptySize    the size of an empty start (null when starting from a build)
 * @param context      the build context, absolute (null: COPY is not available)
 */
public record TemplateFile(TemplateId template, TemplateId fromTemplate, BuildId fromBuild, ByteSize emptySize,
                           Path context, List<Step> steps) {

    public TemplateFile {
        steps = List.copyOf(steps);
    }

    public boolean fromEmpty() {
        return emptySize != null;
    }
}
