package io.tmount.image;

import io.tmount.compress.Compression;
import io.tmount.header.BuildMapping;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Writes a build's whole device into a local file, straight from the store (no chunk cache): each mapping read from
 * its build's data object, decoded where compressed; ranges mapped to the nil build stay holes of a sparse file.
 */
public final class ImageComposer {

    private static final int PIECE = 4 << 20;

    private ImageComposer() {
    }

    public static void compose(TemplateStore store, BuildLayout layout, Path target) throws IOException {
        Map<UUID, ChunkSource> sources = new HashMap<>();
        layout.layers().forEach((uuid, layer) -> sources.put(uuid, layer.compression() == Compression.NONE
                ? new StoredObject(store.objects(), layer.key(), layer.object())
                : new FramedObject(store.objects(), layer.key(), layer.object(), layer.size(), layer.frames())));
        try (RandomAccessFile file = new RandomAccessFile(target.toFile(), "rw")) {
            file.setLength(0);
            file.setLength(layout.header().size());
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(PIECE);
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.WRITE)) {
            for (BuildMapping m : layout.mappings()) {
                if (m.zeros()) {
                    continue;
                }
                ChunkSource source = sources.get(m.buildId());
                for (long done = 0; done < m.length(); ) {
                    int n = (int) Math.min(PIECE, m.length() - done);
                    buffer.clear().limit(n);
                    source.read(m.storageOffset() + done, buffer);
                    buffer.flip();
                    long at = m.offset() + done;
                    while (buffer.hasRemaining()) {
                        at += out.write(buffer, at);
                    }
                    done += n;
                }
            }
            out.force(true);
        } finally {
            sources.values().forEach(ChunkSource::close);
        }
    }
}
