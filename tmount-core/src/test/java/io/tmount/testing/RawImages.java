package io.tmount.testing;

import io.tmount.image.BlockImage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Block images written out as one raw file, for checking them with e2fsck and debugfs. */
public final class RawImages {
    private RawImages() {
    }

    public static Path write(BlockImage image, Path target) throws IOException {
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
            for (long pos = 0; pos < image.size(); pos += buffer.capacity()) {
                buffer.clear();
                image.read(buffer, pos);
                buffer.flip();
                out.write(buffer, pos);
            }
        }
        return target;
    }
}
