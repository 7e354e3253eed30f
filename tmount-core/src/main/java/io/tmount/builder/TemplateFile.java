package io.tmount.builder;

import io.tmount.ByteSize;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A template build, e2b-like: the template the new build belongs to, what it starts from, the folder COPY reads
 * from, and the steps.
 *
 * @param context the build context, absolute (null: COPY is not available)
 */
public record TemplateFile(TemplateId template, Base from, Path context, List<Step> steps) {

    /** What a build starts from: a build of a template, or an empty filesystem of a size. */
    public sealed interface Base {
    }

    public record FromBuild(TemplateId template, BuildId build) implements Base {
        public FromBuild {
            Objects.requireNonNull(template, "template");
            Objects.requireNonNull(build, "build");
        }

        @Override
        public String toString() {
            return template + " build " + build;
        }
    }

    public record Empty(ByteSize size) implements Base {
        public Empty {
            Objects.requireNonNull(size, "size");
        }

        @Override
        public String toString() {
            return "an empty " + size + " filesystem";
        }
    }

    public TemplateFile {
        Objects.requireNonNull(template, "template");
        Objects.requireNonNull(from, "from");
        steps = List.copyOf(steps);
    }
}
