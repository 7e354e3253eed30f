package io.tmount.os;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Replacing small files so that a crash leaves the old content or the new, never a mix: write a temp file beside
 * the target, sync it, rename it over the target, sync the folder.
 */
public final class AtomicFiles {

    private AtomicFiles() {
    }

    public static void replace(Path target, byte[] content) throws IOException {
        replace(target, ByteBuffer.wrap(content));
    }

    public static void replace(Path target, ByteBuffer... content) throws IOException {
        Path temp = target.resolveSibling(target.getFileName() + ".tmp");
        try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long remaining = 0;
            for (ByteBuffer part : content) {
                remaining += part.remaining();
            }
            while (remaining > 0) {
                remaining -= channel.write(content);
            }
            channel.force(true);
        }
        Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncFolder(target.getParent());
    }

    /** Makes a rename or a new entry in the folder durable. */
    public static void syncFolder(Path folder) throws IOException {
        try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }
}
