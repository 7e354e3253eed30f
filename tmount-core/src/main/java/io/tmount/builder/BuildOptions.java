package io.tmount.builder;

import io.tmount.image.WriteFormat;
import io.tmount.store.TemplateId;

import java.util.List;

/**
 * How to run a build: how to write its builds ({@code format} null: the mount manager's), whether to look steps up in
 * the build cache ({@code noCache}: run every step; results are still recorded), other templates whose cached steps
 * may be reused after the template's own ({@code cacheFrom}), and whether the final build is one layer with the whole
 * chain's content ({@code squash}) instead of a layer over the last step's build.
 */
public record BuildOptions(WriteFormat format, boolean noCache, List<TemplateId> cacheFrom, boolean squash) {

    public static final BuildOptions DEFAULTS = new BuildOptions(null, false, List.of(), false);

    public BuildOptions {
        cacheFrom = cacheFrom == null ? List.of() : List.copyOf(cacheFrom);
    }

    public BuildOptions withFormat(WriteFormat value) {
        return new BuildOptions(value, noCache, cacheFrom, squash);
    }
}
