package io.tmount.builder;

import io.tmount.store.BuildId;
import io.tmount.store.StepBuild;
import io.tmount.store.TemplateId;

import java.util.List;

/**
 * A finished build: the new build, its template, its parent (the build of the last step that changed the root; null
 * for a squashed build), the number of steps, time taken, each step's build, and how many steps the build cache
 * answered.
 */
public record BuildResult(BuildId build, TemplateId template, BuildId parent, int steps, long millis,
                          List<StepBuild> layers, int cachedSteps) {

    public BuildResult {
        layers = layers == null ? List.of() : List.copyOf(layers);
    }
}
