package io.tmount.image;

import io.tmount.header.BuildMapping;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Turns an overlay into a new layer: its own blocks packed back to back into the new build's object, and the
 * mappings of the new header: the overlay's blocks onto the new build, its zero blocks onto the nil build, and
 * the parent's mappings everywhere else, with adjacent compatible ranges merged. Every range is whole 4 KiB blocks,
 * as e2b's reader requires: a device whose size is not a multiple of the block has its last block padded with
 * zeros (only a parent that itself ends short keeps its short last mapping).
 */
public final class LayerDiff {

    /** The new layer's mappings, and how many bytes it holds itself and maps to zeros. */
    public record Result(List<BuildMapping> mappings, long ownBytes, long zeroBytes) {
    }

    private static final int COPY = 4 << 20;

    private LayerDiff() {
    }

    /**
     * Writes the overlay's own blocks to {@code packed} and returns the new mappings over {@code parent} (the
     * parent header's mappings, sorted). The overlay must be quiet.
     */
    public static Result write(Overlay overlay, List<BuildMapping> parent, UUID newBuild, FileChannel packed)
            throws IOException {
        return write(overlay, parent, newBuild, packed, false);
    }

    /**
     * The same; with {@code sinceMark}, only what changed since the overlay's last {@linkplain Overlay#mark mark}:
     * the layer over a parent that holds the changes before it (a build's previous step).
     */
    public static Result write(Overlay overlay, List<BuildMapping> parent, UUID newBuild, FileChannel packed,
                               boolean sinceMark) throws IOException {
        List<BuildMapping> out = new ArrayList<>();
        long size = overlay.size();
        long storage = 0;
        long zeroBytes = 0;
        ByteBuffer buffer = ByteBuffer.allocateDirect(COPY);
        int below = 0; // the first parent mapping that may still overlap: runs and mappings both go forwards
        long blocksEnd = overlay.blocks() * Overlay.BLOCK; // the last block whole: mappings cover whole blocks
        for (long position = 0; position < blocksEnd; ) {
            Overlay.Run run = sinceMark ? overlay.runSinceMarkAt(position, blocksEnd) : overlay.runAt(position, blocksEnd);
            long start = run.start();
            long end = run.end();
            switch (run.source()) {
                case OWN -> {
                    add(out, new BuildMapping(start, end - start, newBuild, storage));
                    copyOwn(overlay, start, Math.min(size, end), buffer, packed, storage);
                    storage += end - start;
                }
                case ZERO -> {
                    add(out, new BuildMapping(start, end - start, BuildMapping.NIL, 0));
                    zeroBytes += end - start;
                }
                case BELOW -> {
                    while (below < parent.size() && parent.get(below).end() <= start) {
                        below++;
                    }
                    for (int i = below; i < parent.size() && parent.get(i).offset() < end; i++) {
                        BuildMapping p = parent.get(i);
                        long s = Math.max(start, p.offset());
                        long e = Math.min(end, p.end());
                        long storageOffset = p.zeros() ? 0 : p.storageOffset() + (s - p.offset());
                        add(out, new BuildMapping(s, e - s, p.buildId(), storageOffset));
                    }
                }
            }
            position = end;
        }
        packed.force(true);
        return new Result(out, storage, zeroBytes);
    }

    /** Copies own bytes {@code [start, end)} to {@code at} in the packed file, zeros up to the block boundary. */
    private static void copyOwn(Overlay overlay, long start, long end, ByteBuffer buffer, FileChannel packed, long at)
            throws IOException {
        long target = at;
        for (long pos = start; pos < end; ) {
            int n = (int) Math.min(COPY, end - pos);
            buffer.clear().limit(n);
            overlay.readOwn(buffer, pos);
            buffer.flip();
            while (buffer.hasRemaining()) {
                target += packed.write(buffer, target);
            }
            pos += n;
        }
        long padding = (Overlay.BLOCK - (end - start) % Overlay.BLOCK) % Overlay.BLOCK;
        if (padding > 0) {
            packed.write(ByteBuffer.allocate((int) padding), target);
        }
    }

    /** Appends, merging with the previous mapping when it continues it (same build, contiguous storage). */
    static void add(List<BuildMapping> out, BuildMapping m) {
        if (!out.isEmpty()) {
            BuildMapping last = out.getLast();
            boolean continues = last.buildId().equals(m.buildId()) && last.end() == m.offset()
                    && (m.zeros() || last.storageOffset() + last.length() == m.storageOffset());
            if (continues) {
                out.set(out.size() - 1, new BuildMapping(last.offset(), last.length() + m.length(), last.buildId(),
                        last.storageOffset()));
                return;
            }
        }
        out.add(m);
    }
}
