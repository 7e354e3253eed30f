package io.tmount.daemon;

/**
 * POST /v1/builds: the template file's text, the folder it was read from (a relative {@code context} is resolved
 * against it, on the daemon's host), the new build's id (null: a new UUID), and how to write it (each null: the
 * daemon's default; as in {@link CommitRequest}).
 */
public record BuildRequest(String templateFile, String directory, String buildId, String compression,
                           Integer compressionLevel, Integer frameSize, Integer headerVersion) {

    public BuildRequest(String templateFile, String directory, String buildId) {
        this(templateFile, directory, buildId, null, null, null, null);
    }
}
