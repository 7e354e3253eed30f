package io.tmount.daemon;

/** POST /v1/commits: the mount to commit and the new build's id (null: a new UUID). */
public record CommitRequest(String mountPath, String buildId) {
}
