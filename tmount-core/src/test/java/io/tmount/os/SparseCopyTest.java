package io.tmount.os;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class SparseCopyTest {

    @TempDir
    Path dir;

    @Test
    void copiesDataAndKeepsHoles() throws IOException {
        Path source = dir.resolve("source");
        byte[] a = new byte[100_000];
        byte[] b = new byte[5000];
        new Random(1).nextBytes(a);
        new Random(2).nextBytes(b);
        try (RandomAccessFile file = new RandomAccessFile(source.toFile(), "rw")) {
            file.setLength(256L << 20);
            file.seek(1 << 20);
            file.write(a);
            file.seek((200L << 20) + 7);
            file.write(b);
        }
        Path target = dir.resolve("target");
        Files.write(target, new byte[]{9, 9, 9}); // replaced whole
        SparseCopy.copy(source, target);
        assertThat(Files.mismatch(source, target)).isEqualTo(-1);
        assertThat(Files.size(target)).isEqualTo(256L << 20);
        assertThat(Run.blocks(target)).isLessThan(2L << 20); // bytes on disk: the data, not 256 MiB
    }

    /** How many bytes the file takes on disk. */
    private static final class Run {
        static long blocks(Path file) throws IOException {
            return Long.parseLong(Commands.run(java.time.Duration.ofSeconds(10),
                    java.util.List.of("stat", "-c", "%b", file.toString())).stdout().strip()) * 512;
        }
    }
}
