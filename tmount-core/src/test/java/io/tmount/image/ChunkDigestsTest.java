package io.tmount.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkDigestsTest {

    @TempDir
    Path dir;

    @Test
    void everyBlockIsChecked_theShortLastOneToo_andTheListRoundTrips() throws IOException {
        byte[] data = new byte[3 * 4096 + 100];
        new Random(1).nextBytes(data);
        Path file = dir.resolve("data");
        Files.write(file, data);
        ChunkDigests digests;
        try (FileChannel in = FileChannel.open(file)) {
            digests = ChunkDigests.of(in, data.length, 4096);
        }
        ChunkDigests back = ChunkDigests.parse(digests.serialize());
        assertThat(back.blockSize()).isEqualTo(4096);
        assertThat(back.dataSize()).isEqualTo(data.length);
        assertThat(back.hashes()).isEqualTo(digests.hashes());

        assertThat(back.mismatch(0, ByteBuffer.wrap(data))).isEqualTo(-1);
        assertThat(back.mismatch(8192, ByteBuffer.wrap(data, 8192, data.length - 8192))).isEqualTo(-1);
        for (int at : new int[]{0, 4095, 4096, 12_288, data.length - 1}) {
            byte[] bad = data.clone();
            bad[at] ^= 1;
            assertThat(back.mismatch(0, ByteBuffer.wrap(bad))).as("flip at %d", at).isEqualTo(at / 4096 * 4096L);
        }
        // a block that is not whole has nothing to match against
        assertThat(back.mismatch(0, ByteBuffer.wrap(data, 0, 5000))).isEqualTo(4096);
        assertThat(back.fits(65_536)).isTrue();
        assertThatThrownBy(() -> ChunkDigests.parse("TMSHA256 but short".getBytes())).isInstanceOf(IOException.class);
        byte[] truncated = java.util.Arrays.copyOf(digests.serialize(), digests.serialize().length - 1);
        assertThatThrownBy(() -> ChunkDigests.parse(truncated)).isInstanceOf(IOException.class);
    }
}
