package io.tmount.image;

import io.tmount.testing.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FileImageTest {

    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    private Path randomFile() throws IOException {
        byte[] data = new byte[SIZE];
        new Random(5).nextBytes(data);
        return Files.write(dir.resolve("img"), data);
    }

    @Test
    void writeThenRead_unalignedRanges() throws IOException {
        Path file = randomFile();
        try (FileImage image = FileImage.open(file, false)) {
            assertThat(image.size()).isEqualTo(SIZE);
            byte[] pattern = new byte[10_001];
            Arrays.fill(pattern, (byte) 0x42);
            image.write(ByteBuffer.wrap(pattern), 12_345);
            ByteBuffer back = ByteBuffer.allocateDirect(10_001);
            image.read(back, 12_345);
            back.flip();
            byte[] read = new byte[10_001];
            back.get(read);
            assertThat(read).isEqualTo(pattern);
        }
    }

    @Test
    void transferTo_sendsExactlyTheRange_throughAFullSocket_andAShortFileIsAnError() throws Exception {
        Path file = randomFile();
        byte[] data = Files.readAllBytes(file);
        try (FileImage image = FileImage.open(file, true)) {
            assertThat(image.transfersDirectly(0, SIZE)).isTrue();
            assertThat(SocketCapture.transfer(image, 1000, 3 << 20, dir))
                    .isEqualTo(Arrays.copyOfRange(data, 1000, 1000 + (3 << 20)));
            try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(SIZE / 2); // shrunk behind the image's back
            }
            assertThatThrownBy(() -> SocketCapture.transfer(image, 0, SIZE, dir))
                    .hasRootCauseInstanceOf(java.io.EOFException.class);
        }
    }

    @Test
    void trim_punchesAHole_thatReadsAsZeros() throws IOException {
        Path file = randomFile();
        long allocatedBefore = allocatedBytes(file);
        try (FileImage image = FileImage.open(file, false)) {
            image.trim(1 << 20, 2 << 20);
            image.flush();
            assertThat(readRange(image, 1 << 20, 2 << 20)).containsOnly(0);
        }
        assertThat(allocatedBytes(file)).isLessThanOrEqualTo(allocatedBefore - (2 << 20));
        assertThat(Files.size(file)).isEqualTo(SIZE);
    }

    @Test
    void writeZeroes_withAndWithoutAllocation() throws IOException {
        Path file = randomFile();
        try (FileImage image = FileImage.open(file, false)) {
            image.writeZeroes(100, 5000, true);
            image.writeZeroes(2 << 20, 1 << 20, false);
            assertThat(readRange(image, 100, 5000)).containsOnly(0);
            assertThat(readRange(image, 2 << 20, 1 << 20)).containsOnly(0);
            assertThat(readRange(image, 0, 100)).isNotEqualTo(new byte[100]);
        }
    }

    @Test
    void readOnlyImage_refusesWrites() throws IOException {
        Path file = randomFile();
        try (FileImage image = FileImage.open(file, true)) {
            assertThatThrownBy(() -> image.write(ByteBuffer.allocate(10), 0)).hasMessageContaining("read-only");
            assertThatThrownBy(() -> image.trim(0, 4096)).hasMessageContaining("read-only");
            image.flush(); // harmless
        }
    }

    @Test
    void readPastTheFile_isAnError() throws IOException {
        Path file = randomFile();
        try (FileImage image = FileImage.open(file, false)) {
            assertThatThrownBy(() -> image.read(ByteBuffer.allocate(8192), SIZE - 4096)).hasMessageContaining("shorter");
        }
    }

    private static byte[] readRange(FileImage image, long offset, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        image.read(buffer, offset);
        return buffer.array();
    }

    private static long allocatedBytes(Path file) {
        return Long.parseLong(Run.ok("stat", "-c", "%b", file.toString()).stdout().strip()) * 512;
    }
}
