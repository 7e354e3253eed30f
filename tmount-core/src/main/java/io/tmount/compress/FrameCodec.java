package io.tmount.compress;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Encodes and decodes one frame of a compressed data object: an independently decodable unit of at most a few MiB
 * (a zstd frame, or an LZ4 frame-format stream). Implementations are safe for concurrent use.
 */
public interface FrameCodec extends AutoCloseable {

    Compression compression();

    /**
     * Decodes the frame in {@code src} (all of its remaining bytes) into {@code dst}, which must then have received
     * exactly {@code expected} bytes; anything else (a corrupt or truncated frame, a failed checksum, more or fewer
     * bytes) is an {@link IOException} and {@code dst}'s content is undefined. Advances both buffers.
     */
    void decode(ByteBuffer src, ByteBuffer dst, int expected) throws IOException;

    /** The most bytes {@link #encode} can produce for {@code length} input bytes. */
    int maxEncodedLength(int length);

    /** Encodes all remaining bytes of {@code src} as one frame into {@code dst}; advances both buffers. */
    void encode(ByteBuffer src, ByteBuffer dst) throws IOException;

    /** Frees what the codec holds outside the heap (zstd's contexts); calls in flight finish first. */
    @Override
    default void close() {
    }

    /**
     * Loads the native codecs now and runs each once. The first use of zstd-jni unpacks and loads its library, which
     * takes about half a second: a daemon does it while it starts, not inside the first mount of a compressed build.
     */
    static void preloadQuietly() {
        try {
            for (FrameCodec codec : new FrameCodec[]{new ZstdCodec(0), new Lz4Codec(true)}) {
                try (codec) {
                    java.nio.ByteBuffer plain = java.nio.ByteBuffer.allocateDirect(4096);
                    java.nio.ByteBuffer frame = java.nio.ByteBuffer.allocateDirect(codec.maxEncodedLength(4096));
                    codec.encode(plain, frame);
                    codec.decode(frame.flip(), plain.clear(), 4096);
                }
            }
        } catch (java.io.IOException | LinkageError e) {
            // the first real use reports it, with the build it was for
            org.slf4j.LoggerFactory.getLogger(FrameCodec.class).warn("cannot load the native codecs: {}", e.toString());
        }
    }

    static FrameCodec of(Compression compression, int level) {
        return switch (compression) {
            case ZSTD -> new ZstdCodec(level);
            case LZ4 -> new Lz4Codec(false);
            case NONE -> throw new IllegalArgumentException("uncompressed data has no frame codec");
        };
    }
}
