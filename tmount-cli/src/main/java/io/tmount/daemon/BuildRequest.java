package io.tmount.daemon;

import java.util.List;

/**
 * POST /v1/builds: the template file's text, the folder it was read from (a relative {@code context} is resolved
 * against it, on the daemon's host), the new build's id (null: a new UUID), how to write it (each null: the
 * daemon's default; as in {@link CommitRequest}), and the build cache's use: {@code noCache} (run every step),
 * {@code cacheFrom} (other templates whose cached steps may be reused), {@code squash} (the new build as one layer).
 */
public record BuildRequest(String templateFile, String directory, String buildId, String compression,
                           Integer compressionLevel, Integer frameSize, Integer headerVersion, Boolean noCache,
                           List<String> cacheFrom, Boolean squash) {

    public BuildRequest(String templateFile, String directory, String buildId) {
        this(templateFile, directory, buildId, null, null, null, null, null, null, null);
    }
}
