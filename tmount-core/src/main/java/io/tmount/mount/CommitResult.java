package io.tmount.mount;

import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

/**
 * What a commit made: the new build (null when the mount had no changes, and nothing was stored), its parent, how
 * many bytes the new layer holds itself and maps to zeros, its header version, and how its data object is stored
 * (compression and bytes; 0 bytes: a layer with no blocks of its own, stored as a header alone), and a warning
 * when the build may need checking (null otherwise).
 */
public record CommitResult(BuildId build, BuildId parent, TemplateId template, long ownBytes, long zeroBytes,
                           int mappings, long millis, int headerVersion, String compression, long storedBytes,
                           String warning) {

    static CommitResult unchanged(BuildId parent, TemplateId template, long millis) {
        return new CommitResult(null, parent, template, 0, 0, 0, millis, 0, null, 0, null);
    }

    CommitResult withWarning(String text) {
        return new CommitResult(build, parent, template, ownBytes, zeroBytes, mappings, millis, headerVersion,
                compression, storedBytes, text);
    }

    public boolean changed() {
        return build != null;
    }
}
