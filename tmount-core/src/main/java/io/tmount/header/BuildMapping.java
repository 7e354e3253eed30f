package io.tmount.header;

import java.util.UUID;

/**
 * One range of a layered device: {@code length} bytes at device {@code offset} live in build {@code buildId}'s
 * rootfs object at {@code storageOffset}. The nil UUID means the range reads as zeros and is never fetched.
 */
public record BuildMapping(long offset, long length, UUID buildId, long storageOffset) {

    public static final UUID NIL = new UUID(0, 0);

    public long end() {
        return offset + length;
    }

    public boolean zeros() {
        return NIL.equals(buildId);
    }
}
