package io.tmount.header;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.UUID;

/** A growing little-endian byte sink for headers, with Go's varints. UUIDs go out as 16 bytes in RFC 4122 order. */
final class LeWriter {

    private ByteBuffer out;

    LeWriter(int capacity) {
        out = ByteBuffer.allocate(Math.max(64, capacity)).order(ByteOrder.LITTLE_ENDIAN);
    }

    LeWriter u64(long v) {
        room(8).putLong(v);
        return this;
    }

    LeWriter u32(long v) {
        room(4).putInt((int) v);
        return this;
    }

    LeWriter u8(int v) {
        room(1).put((byte) v);
        return this;
    }

    LeWriter uuid(UUID uuid) {
        room(16).order(ByteOrder.BIG_ENDIAN).putLong(uuid.getMostSignificantBits())
                .putLong(uuid.getLeastSignificantBits()).order(ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    LeWriter bytes(byte[] b) {
        room(b.length).put(b);
        return this;
    }

    LeWriter bytes(ByteBuffer b) {
        room(b.remaining()).put(b);
        return this;
    }

    LeWriter uvarint(long v) {
        while (Long.compareUnsigned(v, 0x80) >= 0) {
            room(1).put((byte) (v | 0x80));
            v >>>= 7;
        }
        room(1).put((byte) v);
        return this;
    }

    LeWriter varint(long v) {
        return uvarint((v << 1) ^ (v >> 63));
    }

    int size() {
        return out.position();
    }

    byte[] toArray() {
        return Arrays.copyOf(out.array(), out.position());
    }

    private ByteBuffer room(int n) {
        if (out.remaining() < n) {
            ByteBuffer bigger = ByteBuffer.allocate(Math.max(out.capacity() * 2, out.position() + n))
                    .order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(out.flip());
            out = bigger;
        }
        return out;
    }
}
