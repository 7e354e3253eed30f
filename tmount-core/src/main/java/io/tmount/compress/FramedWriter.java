package io.tmount.compress;

import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Writes data as e2b's compressed data objects are made: cut into frames of {@code frameSize} uncompressed bytes
 * (the last may be shorter), each encoded on its own and stored back to back, with the table of where each frame
 * lies and the SHA-256 of the uncompressed data. Frames are encoded on all cores, written in order.
 */
public final class FramedWriter {

    /** e2b's default frame: 2 MiB of uncompressed data. */
    public static final int DEFAULT_FRAME_SIZE = 2 << 20;

    /** What was written. */
    public record Result(FrameTable table, String sha256, long uncompressedBytes, long storedBytes) {
    }

    private final FrameCodec codec;
    private final int frameSize;

    public FramedWriter(FrameCodec codec, int frameSize) {
        if (frameSize < 4096 || frameSize % 4096 != 0 || frameSize > 256 << 20) {
            // e2b: a multiple of the 4 KiB block, so that no block read straddles two frames
            throw new IllegalArgumentException("frame size (" + frameSize + ") must be a multiple of 4 KiB, at most 256 MiB");
        }
        this.codec = codec;
        this.frameSize = frameSize;
    }

    /** Frames {@code [0, length)} of {@code in} into {@code out} from its position 0. */
    public Result write(FileChannel in, long length, FileChannel out) throws IOException {
        int workers = Math.max(1, Runtime.getRuntime().availableProcessors());
        int frames = (int) Math.min(Integer.MAX_VALUE, (length + frameSize - 1) / frameSize);
        if (frames > FrameTable.MAX_FRAMES) {
            throw new IOException(length + " bytes make " + frames + " frames of " + frameSize + " bytes; e2b reads at "
                    + "most " + FrameTable.MAX_FRAMES + " (choose a larger frame size)");
        }
        int[] sizeU = new int[frames];
        int[] sizeC = new int[frames];
        MessageDigest sha = sha256();
        ConcurrentLinkedQueue<ByteBuffer[]> idle = new ConcurrentLinkedQueue<>();
        Deque<Future<ByteBuffer[]>> pending = new ArrayDeque<>();
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "frame-encoder");
            t.setDaemon(true);
            return t;
        });
        long stored = 0;
        int written = 0;
        try {
            for (int f = 0; f < frames; f++) {
                ByteBuffer[] pair = idle.poll();
                if (pair == null) {
                    pair = new ByteBuffer[]{ByteBuffer.allocateDirect(frameSize),
                            ByteBuffer.allocateDirect(codec.maxEncodedLength(frameSize))};
                }
                ByteBuffer raw = pair[0].clear();
                int n = (int) Math.min(frameSize, length - (long) f * frameSize);
                raw.limit(n);
                readFully(in, raw, (long) f * frameSize);
                raw.flip();
                sha.update(raw.duplicate());
                sizeU[f] = n;
                ByteBuffer[] task = pair;
                pending.add(pool.submit(() -> {
                    task[1].clear();
                    codec.encode(task[0], task[1]);
                    task[1].flip();
                    return task;
                }));
                while (pending.size() >= 2 * workers || (f == frames - 1 && !pending.isEmpty())) {
                    ByteBuffer[] done = await(pending.removeFirst());
                    sizeC[written++] = done[1].remaining();
                    stored += writeFully(out, done[1], stored);
                    idle.add(done);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        out.force(true);
        return new Result(FrameTable.contiguous(codec.compression(), sizeU, sizeC), HexFormat.of().formatHex(sha.digest()),
                length, stored);
    }

    /** The SHA-256 of {@code [0, length)} of a file, as e2b records it for uncompressed data. */
    public static String sha256(FileChannel in, long length) throws IOException {
        MessageDigest sha = sha256();
        ByteBuffer buffer = ByteBuffer.allocateDirect(4 << 20);
        for (long position = 0; position < length; ) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), length - position));
            readFully(in, buffer, position);
            buffer.flip();
            position += buffer.remaining();
            sha.update(buffer);
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    private static ByteBuffer[] await(Future<ByteBuffer[]> future) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while encoding frames");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException("cannot encode a frame: " + e.getCause(), e.getCause());
        }
    }

    private static void readFully(FileChannel in, ByteBuffer dst, long position) throws IOException {
        long at = position;
        while (dst.hasRemaining()) {
            int n = in.read(dst, at);
            if (n < 0) {
                throw new EOFException("input ended at " + at + " while framing");
            }
            at += n;
        }
    }

    private static long writeFully(FileChannel out, ByteBuffer src, long position) throws IOException {
        long at = position;
        while (src.hasRemaining()) {
            at += out.write(src, at);
        }
        return at - position;
    }
}
