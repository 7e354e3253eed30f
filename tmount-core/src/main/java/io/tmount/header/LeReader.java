package io.tmount.header;

import io.tmount.TmountException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.UUID;

/**
 * Reads a header's little-endian fields and Go's varints, naming the field a truncated or malformed header ends in.
 * UUIDs are 16 raw bytes in RFC 4122 order.
 */
final class LeReader {

    private final ByteBuffer in;
    private final String what;

    LeReader(ByteBuffer in, String what) {
        this.in = in.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.what = what;
    }

    int remaining() {
        return in.remaining();
    }

    boolean hasRemaining() {
        return in.hasRemaining();
    }

    long u64(String field) {
        need(8, field);
        return in.getLong();
    }

    long u32(String field) {
        need(4, field);
        return in.getInt() & 0xFFFFFFFFL;
    }

    int s32(String field) {
        need(4, field);
        return in.getInt();
    }

    int u8(String field) {
        need(1, field);
        return in.get() & 0xFF;
    }

    UUID uuid(String field) {
        need(16, field);
        in.order(ByteOrder.BIG_ENDIAN);
        UUID uuid = new UUID(in.getLong(), in.getLong());
        in.order(ByteOrder.LITTLE_ENDIAN);
        return uuid;
    }

    byte[] bytes(int n, String field) {
        need(n, field);
        byte[] out = new byte[n];
        in.get(out);
        return out;
    }

    ByteBuffer rest() {
        return in.slice();
    }

    /** Go's {@code binary.ReadUvarint}: LEB128, at most 10 bytes, no overflow past 64 bits. */
    long uvarint(String field) {
        long value = 0;
        int shift = 0;
        for (int i = 0; i < 10; i++) {
            int b = u8(field);
            if (b < 0x80) {
                if (i == 9 && b > 1) {
                    break;
                }
                return value | ((long) b << shift);
            }
            value |= (long) (b & 0x7F) << shift;
            shift += 7;
        }
        throw invalid("has a varint that overflows 64 bits in %s", field);
    }

    /** Go's {@code binary.ReadVarint}: a zig-zag coded uvarint. */
    long varint(String field) {
        long u = uvarint(field);
        long x = u >>> 1;
        return (u & 1) != 0 ? ~x : x;
    }

    private void need(int n, String field) {
        if (in.remaining() < n) {
            throw invalid("is truncated in %s (%d bytes left, %d needed)", field, in.remaining(), n);
        }
    }

    TmountException invalid(String format, Object... args) {
        return HeaderCodec.invalid(what, format, args);
    }
}
