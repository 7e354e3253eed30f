package io.tmount.builder;

import io.tmount.buildcache.StepKey;
import io.tmount.store.BuildId;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The cache key of a build step: everything its result depends on, as lines of text. The build the step starts from
 * (which stands for the whole root before it), the step as written, the working folder, user, ENV and mounted
 * templates it runs with, and for COPY the content of its source. The cache version starts the text, so a tmount
 * that runs steps differently does not reuse older results.
 */
final class StepKeys {

    private final Path context;
    private final ContentHashes contents;

    /** {@code context}: the build context COPY reads from (null: none); {@code contents}: its files' hashes. */
    StepKeys(Path context, ContentHashes contents) {
        this.context = context;
        this.contents = contents;
    }

    StepKey of(BuildId parent, Step step, BuildContext state) throws IOException {
        StringBuilder text = new StringBuilder();
        text.append("tmount build cache ").append(StepKey.VERSION).append('\n');
        text.append("parent ").append(parent).append('\n');
        text.append("step ").append(quote(step.describe())).append('\n');
        text.append(state.describeForKey());
        if (step instanceof Step.Copy copy) {
            text.append("source ").append(CopySource.hash(context, copy.source(), contents)).append('\n');
        }
        return StepKey.of(text.toString());
    }

    /**
     * The key of the end of a build's steps from {@code parent} with {@code state}: what unmounting the templates
     * still mounted leaves in the root (the folders their MOUNT made), as a last layer.
     */
    StepKey end(BuildId parent, BuildContext state) {
        return StepKey.of("tmount build cache " + StepKey.VERSION + "\nparent " + parent + "\nend of the steps\n"
                + state.describeForKey());
    }

    /** The key of an empty filesystem of {@code bytes}, the start of a build from nothing. */
    static StepKey emptyFilesystem(long bytes) {
        return StepKey.of("tmount build cache " + StepKey.VERSION + "\nempty ext4 " + bytes + "\n");
    }

    /** A value on one line and told apart from its neighbours, whatever it holds: quoted, as JSON quotes. */
    static String quote(String value) {
        return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
                .replace("\r", "\\r") + '"';
    }
}
