package io.tmount.daemon;

/**
 * POST /v1/builds: the template file's text, the folder it was read from (a relative {@code context} is resolved
 * against it, on the daemon's host), and the new build's id (null: a new UUID).
 */
public record BuildRequest(String templateFile, String directory, String buildId) {
}
