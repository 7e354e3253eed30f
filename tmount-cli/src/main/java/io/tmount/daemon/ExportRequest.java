package io.tmount.daemon;

/**
 * POST /v1/exports: a build ({@code templateId}, {@code buildId}) or a raw image file ({@code image}) to serve over
 * NBD, on a unix {@code socket} or a {@code tcp} address ({@code HOST:PORT}, loopback unless {@code allowRemote}),
 * to at most {@code maxConnections} clients at once (0 or absent: the default); with TLS when {@code tlsCert} and
 * {@code tlsKey} (PEM files on the daemon's host) are given: {@code tls} "on" (offered, the default) or "require",
 * {@code tlsCa} and {@code tlsVerifyPeer} to admit only clients with a certificate that CA signed.
 */
public record ExportRequest(String templateId, String buildId, String image, String socket, String tcp,
                            boolean readOnly, String name, boolean allowRemote, int maxConnections, String tls,
                            String tlsCert, String tlsKey, String tlsCa, boolean tlsVerifyPeer) {

    public ExportRequest(String templateId, String buildId, String image, String socket, String tcp, boolean readOnly,
                         String name, boolean allowRemote, int maxConnections) {
        this(templateId, buildId, image, socket, tcp, readOnly, name, allowRemote, maxConnections, null, null, null,
                null, false);
    }
}
