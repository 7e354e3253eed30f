package io.tmount.image;

import io.tmount.compress.Compression;
import io.tmount.compress.FrameTable;
import io.tmount.store.BuildId;
import io.tmount.store.ObjectInfo;

import java.util.UUID;

/**
 * Where one build of a chain keeps its data, as resolved from the header that maps to it: the store folder, the
 * data object's key and what the store says of it, its compression and frame table, the size of its uncompressed
 * data and its SHA-256 when a header records one.
 */
record LayerData(UUID uuid, BuildId folder, String key, ObjectInfo object, Compression compression,
                        FrameTable frames, long size, String sha256) {

    public boolean compressed() {
        return compression != Compression.NONE;
    }
}
