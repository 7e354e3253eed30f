package io.tmount.buildcache;

import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.time.Instant;

/**
 * One cached build step: under {@code key} (a {@link StepKey}'s hash) in {@code template}'s cache, the build that is
 * the step's result (its parent itself when the step changed nothing; null parent: a build from nothing, an empty
 * filesystem), the step as written, when it was recorded and last used, and the bytes its build holds of its own (0
 * for a step that changed nothing).
 */
public record CacheEntry(TemplateId template, String key, BuildId build, BuildId parent, String step,
                         Instant createdAt, Instant lastUsed, long bytes) {

    /** Whether the step's build is one of its own, not its parent's (a step that changed nothing has none). */
    public boolean ownBuild() {
        return parent == null || !build.equals(parent);
    }
}
