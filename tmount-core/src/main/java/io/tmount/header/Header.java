package io.tmount.header;

import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A build's {@code rootfs.ext4.header} in any of e2b's versions: device size and block size, the generation (0 for a
 * base, +1 per layer), this build's and its chain's base build's UUID, the mappings of every device range onto the
 * build holding it (sorted, contiguous, covering the device), and from version 4 on the Builds section: what the
 * header knows of each build it maps to (uncompressed size, SHA-256, frame table). {@code version} is the whole
 * field as stored; only its low 16 bits are the format.
 */
public record Header(long version, long blockSize, long size, long generation, UUID buildId, UUID baseBuildId,
                     List<BuildMapping> mappings, Map<UUID, BuildData> builds) {

    /** What e2b writes for uncompressed builds. */
    public static final int VERSION = 3;
    /** The oldest and newest formats e2b defines. */
    public static final int OLDEST = 1;
    public static final int NEWEST = 5;

    public Header {
        mappings = List.copyOf(mappings);
        builds = Map.copyOf(builds);
    }

    /** A header without a Builds section (versions 1 to 3). */
    public Header(long version, long blockSize, long size, long generation, UUID buildId, UUID baseBuildId,
                  List<BuildMapping> mappings) {
        this(version, blockSize, size, generation, buildId, baseBuildId, mappings, Map.of());
    }

    /** The format version: the low 16 bits of the version field, as e2b reads it. */
    public int format() {
        return format(version);
    }

    public static int format(long version) {
        return (int) (version & 0xffff);
    }

    /** Whether the format has the Builds section (versions 4 and 5). */
    public boolean hasBuildsSection() {
        return format() >= 4;
    }

    /** What this header records of a build, or null when it records nothing (always so before version 4). */
    public BuildData build(UUID build) {
        return builds.get(build);
    }
}
