package io.tmount.nbd;

import java.nio.ByteBuffer;

/** One NBD request header as it comes off the wire (28 bytes, network order); the length is unsigned. */
record Request(int magic, int flags, int type, long cookie, long offset, long length) {

    /** Decodes the header at the buffer's position (which moves past it). */
    static Request decode(ByteBuffer header) {
        int magic = header.getInt();
        int flags = Short.toUnsignedInt(header.getShort());
        int type = Short.toUnsignedInt(header.getShort());
        long cookie = header.getLong();
        long offset = header.getLong();
        long length = Integer.toUnsignedLong(header.getInt());
        return new Request(magic, flags, type, cookie, offset, length);
    }
}
