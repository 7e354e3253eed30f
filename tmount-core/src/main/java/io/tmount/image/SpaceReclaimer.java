package io.tmount.image;

/** Frees disk space on request (the chunk cache, for an overlay that hit a full disk); returns the bytes freed. */
@FunctionalInterface
public interface SpaceReclaimer {

    SpaceReclaimer NONE = bytes -> 0;

    long reclaim(long bytes);
}
