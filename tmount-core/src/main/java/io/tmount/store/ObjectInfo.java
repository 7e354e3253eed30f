package io.tmount.store;

/**
 * What a store says about one object: its size, and a version that changes whenever the object is replaced (the
 * ETag on S3; inode, mtime and size in a folder), so a local copy can tell it still matches.
 */
public record ObjectInfo(long size, String version) {
}
