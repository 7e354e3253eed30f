package io.tmount.daemon;

/**
 * POST /v1/commits: the mount to commit, the new build's id (null: a new UUID), and how to write it (each null: the
 * daemon's default): compression (zstd, lz4, none), zstd level, frame size in bytes, header version (3, 4, 5).
 */
public record CommitRequest(String mountPath, String buildId, String compression, Integer compressionLevel,
                            Integer frameSize, Integer headerVersion) {

    public CommitRequest(String mountPath, String buildId) {
        this(mountPath, buildId, null, null, null, null);
    }
}
