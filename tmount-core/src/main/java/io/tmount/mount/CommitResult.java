package io.tmount.mount;

import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

/**
 * What a commit made: the new build (null when the mount had no changes, and nothing was stored), its parent, and
 * how many bytes the new layer holds itself and maps to zeros.
 */
public record CommitResult(BuildId build, BuildId parent, TemplateId template, long ownBytes, long zeroBytes,
                           int mappings, long millis) {

    public boolean changed() {
        return build != null;
    }
}
