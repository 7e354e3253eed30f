package io.tmount.compress;

import io.tmount.testing.HostTool;
import io.tmount.testing.Run;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * tmount's frame codecs against the reference command-line tools, both ways: frames the {@code zstd} and {@code lz4}
 * commands make are read by tmount, and frames tmount makes are read by them.
 */
class CodecCliInteropTest {

    @TempDir
    Path dir;

    private byte[] data;

    @BeforeEach
    void setUp() {
        data = Samples.mixed(3 * (1 << 20) + 12345, 7);
    }

    @Test
    void zstdFramesOfTheCli_decode() throws IOException {
        String zstd = HostTool.require("zstd", "zstd").toString();
        for (String[] options : new String[][]{{"-3"}, {"-19", "--no-check"}, {"-1", "--no-content-size"}}) {
            Path in = write("in.bin", data);
            Path out = dir.resolve("in.bin.zst");
            Files.deleteIfExists(out);
            String[] command = concat(new String[]{zstd, "-q", "-f"}, options, new String[]{in.toString(), "-o", out.toString()});
            Run.ok(command);
            assertThat(decode(new ZstdCodec(0), Files.readAllBytes(out), data.length)).isEqualTo(data);
        }
    }

    @Test
    void zstdFramesOfTmount_decodeWithTheCli_oneByOneAndAsAWholeObject() throws IOException {
        String zstd = HostTool.require("zstd", "zstd").toString();
        byte[] frame = encode(new ZstdCodec(3), data);
        Path framed = write("frame.zst", frame);
        Run.ok(zstd, "-q", "-d", "-f", framed.toString(), "-o", dir.resolve("back.bin").toString());
        assertThat(Files.readAllBytes(dir.resolve("back.bin"))).isEqualTo(data);
        // the CLI says what the frame claims: content size and a checksum, as e2b writes them
        String listing = Run.ok(zstd, "-lv", framed.toString()).stdout();
        assertThat(listing).contains("Decompressed Size:").contains("Check: XXH64");
    }

    @Test
    void lz4FramesOfTheCli_decode_withEveryBlockSizeAndChecksumChoice() throws IOException {
        String lz4 = HostTool.require("lz4", "lz4").toString();
        for (String[] options : new String[][]{{}, {"-B4"}, {"-B5", "--no-frame-crc"}, {"-B6", "-BX"},
                {"-B7", "--content-size"}, {"-9"}}) {
            Path in = write("in.bin", data);
            Path out = dir.resolve("in.bin.lz4");
            String[] command = concat(new String[]{lz4, "-q", "-f"}, options, new String[]{in.toString(), out.toString()});
            Run.ok(command);
            assertThat(decode(new Lz4Codec(false), Files.readAllBytes(out), data.length))
                    .as("lz4 %s", String.join(" ", options)).isEqualTo(data);
        }
    }

    @Test
    void lz4FramesOfTmount_decodeWithTheCli_withAndWithoutContentChecksum() throws IOException {
        String lz4 = HostTool.require("lz4", "lz4").toString();
        for (boolean contentChecksum : new boolean[]{false, true}) {
            Path framed = write("frame.lz4", encode(new Lz4Codec(contentChecksum), data));
            Path back = dir.resolve("back.bin");
            Run.ok(lz4, "-q", "-d", "-f", framed.toString(), back.toString());
            assertThat(Files.readAllBytes(back)).isEqualTo(data);
        }
    }

    @Test
    void lz4LinkedBlocksOfTheCli_areRefusedSayingWhy() throws IOException {
        String lz4 = HostTool.require("lz4", "lz4").toString();
        Path in = write("in.bin", data);
        Path out = dir.resolve("linked.lz4");
        Run.ok(lz4, "-q", "-f", "-BD", "-B4", in.toString(), out.toString());
        assertThatThrownBy(() -> decode(new Lz4Codec(false), Files.readAllBytes(out), data.length))
                .isInstanceOf(IOException.class).hasMessageContaining("linked blocks");
    }

    @Test
    void wholeObjectsOfTheFramedWriter_decodeWithTheClis() throws IOException {
        Path input = write("image.raw", data);
        for (Compression compression : new Compression[]{Compression.ZSTD, Compression.LZ4}) {
            Path object = dir.resolve("object" + compression.suffix());
            FramedWriter.Result result;
            try (var in = java.nio.channels.FileChannel.open(input);
                 var out = java.nio.channels.FileChannel.open(object, java.nio.file.StandardOpenOption.CREATE,
                         java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
                result = new FramedWriter(FrameCodec.of(compression, 0), 1 << 20).write(in, data.length, out);
            }
            assertThat(result.table().count()).isEqualTo(4);
            assertThat(result.storedBytes()).isEqualTo(Files.size(object)).isEqualTo(result.table().compressedBytes());
            assertThat(result.sha256()).isEqualTo(Samples.sha256(data));
            if (compression == Compression.ZSTD) {
                Path back = dir.resolve("back.bin");
                Run.ok(HostTool.require("zstd", "zstd").toString(), "-q", "-d", "-f", object.toString(), "-o", back.toString());
                assertThat(Files.readAllBytes(back)).isEqualTo(data);
            } else {
                // frame by frame: lz4 1.9.4 stops after the first of several frames that have block checksums and
                // no content checksum (its own such frames too), which is how e2b writes data frames
                byte[] all = Files.readAllBytes(object);
                java.io.ByteArrayOutputStream joined = new java.io.ByteArrayOutputStream();
                for (int i = 0; i < result.table().count(); i++) {
                    Path frame = write("frame.lz4", java.util.Arrays.copyOfRange(all, (int) result.table().startC(i),
                            (int) result.table().endC(i)));
                    Path back = dir.resolve("frame.bin");
                    Run.ok(HostTool.require("lz4", "lz4").toString(), "-q", "-d", "-f", frame.toString(), back.toString());
                    joined.writeBytes(Files.readAllBytes(back));
                }
                assertThat(joined.toByteArray()).isEqualTo(data);
            }
        }
    }

    static byte[] decode(FrameCodec codec, byte[] frame, int expected) throws IOException {
        ByteBuffer src = ByteBuffer.allocateDirect(frame.length).put(frame).flip();
        ByteBuffer dst = ByteBuffer.allocateDirect(expected);
        codec.decode(src, dst, expected);
        byte[] out = new byte[expected];
        dst.flip().get(out);
        return out;
    }

    static byte[] encode(FrameCodec codec, byte[] data) throws IOException {
        ByteBuffer src = ByteBuffer.allocateDirect(data.length).put(data).flip();
        ByteBuffer dst = ByteBuffer.allocateDirect(codec.maxEncodedLength(data.length));
        codec.encode(src, dst);
        byte[] out = new byte[dst.flip().remaining()];
        dst.get(out);
        return out;
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    private static String[] concat(String[]... parts) {
        return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(String[]::new);
    }

}
