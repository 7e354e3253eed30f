package io.tmount.image;

import java.util.List;
import java.util.UUID;

/**
 * A layered build's {@code rootfs.ext4.header} (e2b's format, version 3): device size and block size, the
 * generation (0 for a base, +1 per layer), this build's and its chain's base build's UUID, and the mappings of
 * every device range onto the build holding it, sorted, contiguous, covering {@code [0, size)}.
 */
public record Header(long version, long blockSize, long size, long generation, UUID buildId, UUID baseBuildId,
                     List<BuildMapping> mappings) {

    public static final int VERSION = 3;

    public Header {
        mappings = List.copyOf(mappings);
    }
}
