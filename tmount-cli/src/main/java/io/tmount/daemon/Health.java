package io.tmount.daemon;

/** GET /v1/health. */
public record Health(String status, String version, String store, String stateDir, int mounts, int exports) {
}
