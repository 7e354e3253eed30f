package io.tmount.builder;

import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

/** A finished build: the new build, its template, its parent (null for an empty start), steps run and time taken. */
public record BuildResult(BuildId build, TemplateId template, BuildId parent, int steps, long millis) {
}
