package io.tmount.daemon;

/**
 * GET /v1/health. {@code status} is "ok", or "degraded" while a mount has a problem ({@code GET /v1/mounts} says
 * which and what); the daemon serves requests either way.
 */
public record Health(String status, String version, String store, String stateDir, int mounts, int exports,
                     int mountsWithProblems) {
}
