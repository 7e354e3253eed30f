package io.tmount.compress;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * zstd frames through libzstd (zstd-jni). Frames are written with a content checksum and the content size, as e2b
 * writes them, so a damaged frame fails to decode instead of yielding wrong bytes. Contexts are pooled: making one
 * allocates the decoder's tables, which costs more than decoding a small frame. They live outside the heap and
 * nothing frees them but {@link #close}: whoever makes a codec closes it.
 */
final class ZstdCodec implements FrameCodec {

    /** libzstd's own default, used when no level is given. */
    static final int DEFAULT_LEVEL = 3;

    private final int level;
    private final ConcurrentLinkedQueue<ZstdDecompressCtx> decoders = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<ZstdCompressCtx> encoders = new ConcurrentLinkedQueue<>();
    private volatile boolean closed;

    ZstdCodec(int level) {
        this.level = level == 0 ? DEFAULT_LEVEL : level;
        if (this.level < Zstd.minCompressionLevel() || this.level > Zstd.maxCompressionLevel()) {
            throw new IllegalArgumentException("zstd level " + level + " is outside " + Zstd.minCompressionLevel()
                    + ".." + Zstd.maxCompressionLevel());
        }
    }

    @Override
    public Compression compression() {
        return Compression.ZSTD;
    }

    @Override
    public void decode(ByteBuffer src, ByteBuffer dst, int expected) throws IOException {
        if (dst.remaining() < expected) {
            throw new IllegalArgumentException("no room for " + expected + " decoded bytes");
        }
        ZstdDecompressCtx ctx = decoders.poll();
        if (ctx == null) {
            ctx = new ZstdDecompressCtx();
        }
        int n;
        try {
            if (src.isDirect() && dst.isDirect()) {
                // the output capacity is the expected size: a frame that decodes to more fails instead of growing
                n = ctx.decompressDirectByteBuffer(dst, dst.position(), expected, src, src.position(), src.remaining());
            } else {
                byte[] in = new byte[src.remaining()];
                src.duplicate().get(in);
                byte[] out = new byte[expected];
                n = ctx.decompressByteArray(out, 0, expected, in, 0, in.length);
                dst.duplicate().put(out, 0, n);
            }
        } catch (ZstdException e) {
            ctx.close(); // its state after an error is not worth trusting
            throw new IOException("zstd frame does not decode: " + e.getMessage(), e);
        }
        giveBack(decoders, ctx);
        if (n != expected) {
            throw new IOException("zstd frame decodes to " + n + " bytes, its table says " + expected);
        }
        src.position(src.limit());
        dst.position(dst.position() + n);
    }

    @Override
    public int maxEncodedLength(int length) {
        return (int) Zstd.compressBound(length);
    }

    @Override
    public void encode(ByteBuffer src, ByteBuffer dst) throws IOException {
        ZstdCompressCtx ctx = encoders.poll();
        if (ctx == null) {
            ctx = new ZstdCompressCtx().setLevel(level).setChecksum(true).setContentSize(true);
        }
        try {
            int n = ctx.compressDirectByteBuffer(dst, dst.position(), dst.remaining(), src, src.position(),
                    src.remaining());
            src.position(src.limit());
            dst.position(dst.position() + n);
        } catch (ZstdException e) {
            ctx.close();
            throw new IOException("zstd cannot encode a frame: " + e.getMessage(), e);
        }
        giveBack(encoders, ctx);
    }

    @Override
    public void close() {
        closed = true;
        drain(decoders);
        drain(encoders);
    }

    /** Pools a context for the next call, or frees it when the codec closed meanwhile. */
    private <T extends java.io.Closeable> void giveBack(ConcurrentLinkedQueue<T> pool, T ctx) {
        pool.offer(ctx);
        if (closed) {
            drain(pool);
        }
    }

    private static <T extends java.io.Closeable> void drain(ConcurrentLinkedQueue<T> pool) {
        for (T ctx = pool.poll(); ctx != null; ctx = pool.poll()) {
            try {
                ctx.close();
            } catch (IOException e) {
                // zstd-jni's close does not fail; nothing to do if it did
            }
        }
    }
}
