package io.tmount.daemon;

/**
 * POST /v1/exports: a build ({@code templateId}, {@code buildId}) or a raw image file ({@code image}) to serve over
 * NBD, on a unix {@code socket} or a {@code tcp} address ({@code HOST:PORT}, loopback unless {@code allowRemote}),
 * to at most {@code maxConnections} clients at once (0 or absent: the default).
 */
public record ExportRequest(String templateId, String buildId, String image, String socket, String tcp,
                            boolean readOnly, String name, boolean allowRemote, int maxConnections) {
}
