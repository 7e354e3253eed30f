package io.tmount.header;

import io.tmount.compress.Compression;
import io.tmount.compress.FrameTable;
import io.tmount.testing.HostTool;
import io.tmount.testing.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Version 4 and 5 headers made byte by byte from e2b's documented layout, their LZ4 block compressed by the
 * {@code lz4} command (not by tmount): tmount reads them, and what tmount writes has the very same block.
 */
class HeaderGoldenTest {

    static final UUID BASE = UUID.fromString("11111111-2222-3333-4444-555555555555");
    static final UUID TOP = UUID.fromString("01234567-89ab-cdef-0123-456789abcdef");
    static final long MIB = 1 << 20;
    static final String SHA = "ab".repeat(32);

    @TempDir
    Path dir;

    /** What both golden headers describe. */
    static Header expected(int version) {
        FrameTable frames = FrameTable.of(Compression.ZSTD, new long[]{0, 2 * MIB}, new long[]{0, 1000},
                new int[]{(int) (2 * MIB), (int) MIB}, new int[]{1000, 500});
        return new Header(version, 4096, 16 * MIB, 2, TOP, BASE, List.of(
                new BuildMapping(0, 8 * MIB, BASE, 0),
                new BuildMapping(8 * MIB, 3 * MIB, TOP, 0),
                new BuildMapping(11 * MIB, 5 * MIB, BuildMapping.NIL, 0)),
                Map.of(TOP, new BuildData(3 * MIB, SHA, frames), BASE, BuildData.UNKNOWN));
    }

    /** The Builds section, by hand: sorted by UUID bytes, so TOP (0x01...) comes before BASE (0x11...). */
    static void buildsSection(Le out) {
        out.u32(2);
        out.uuid(TOP).u64(3 * MIB).bytes(repeat((byte) 0xab, 32)).u32(1).u32(2);
        out.u64(0).u64(0).u32(2 * MIB).u32(1000);
        out.u64(2 * MIB).u64(1000).u32(MIB).u32(500);
        out.uuid(BASE).u64(0).bytes(new byte[32]).u32(0).u32(0);
    }

    static byte[] v4Block() {
        Le out = new Le();
        buildsSection(out);
        out.u32(3);
        out.u64(0).u64(8 * MIB).uuid(BASE).u64(0);
        out.u64(8 * MIB).u64(3 * MIB).uuid(TOP).u64(0);
        out.u64(11 * MIB).u64(5 * MIB).uuid(BuildMapping.NIL).u64(0);
        return out.bytes();
    }

    static byte[] v5Block() {
        Le out = new Le();
        buildsSection(out);
        out.u32(2).uuid(BASE).uuid(TOP);       // build table, in order of first use
        out.u32(2);                            // entries; the nil range is left out
        out.raw(0x00, 0x80, 0x10);             // offset deltas in pages: 0, 2048
        out.raw(0x80, 0x10, 0x80, 0x06);       // lengths: 2048, 768
        out.raw(0x00, 0x00);                   // storage deltas (zig-zag): 0, 0
        out.raw(0x00, 0x01);                   // build indexes
        return out.bytes();
    }

    private byte[] framed(int version, byte[] block) throws IOException {
        Path raw = dir.resolve("block.bin");
        Path lz4 = dir.resolve("block.lz4");
        Files.write(raw, block);
        Run.ok(HostTool.require("lz4", "lz4").toString(), "-q", "-f", raw.toString(), lz4.toString());
        Le out = new Le();
        out.u64(version).u64(4096).u64(16 * MIB).u64(2).uuid(TOP).uuid(BASE);
        out.raw(0x00).u32(block.length).bytes(Files.readAllBytes(lz4));
        return out.bytes();
    }

    private byte[] blockOf(byte[] header) throws IOException {
        Path lz4 = dir.resolve("ours.lz4");
        Path raw = dir.resolve("ours.bin");
        Files.write(lz4, Arrays.copyOfRange(header, 64 + 5, header.length));
        Run.ok(HostTool.require("lz4", "lz4").toString(), "-q", "-d", "-f", lz4.toString(), raw.toString());
        int prefix = ByteBuffer.wrap(header, 65, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        byte[] block = Files.readAllBytes(raw);
        assertThat(block).hasSize(prefix);
        return block;
    }

    @Test
    void version4_goldenBytes_readAndWrittenTheSame() throws IOException {
        assertThat(HeaderCodec.read(framed(4, v4Block()), "golden v4")).isEqualTo(expected(4));
        byte[] ours = HeaderCodec.write(expected(4));
        assertThat(ours[64]).isZero(); // flags: no upload in flight
        assertThat(blockOf(ours)).isEqualTo(v4Block());
    }

    @Test
    void version5_goldenBytes_readAndWrittenTheSame() throws IOException {
        assertThat(HeaderCodec.read(framed(5, v5Block()), "golden v5")).isEqualTo(expected(5));
        assertThat(blockOf(HeaderCodec.write(expected(5)))).isEqualTo(v5Block());
    }

    @Test
    void version5_negativeStorageDeltas_areZigZagCoded() throws IOException {
        Header h = new Header(5, 4096, 16 * MIB, 1, TOP, BASE, List.of(
                new BuildMapping(0, 4 * MIB, TOP, 8 * MIB),
                new BuildMapping(4 * MIB, 12 * MIB, BASE, 0)), Map.of());
        Le out = new Le();
        out.u32(0);                             // no builds recorded
        out.u32(2).uuid(TOP).uuid(BASE).u32(2);
        out.raw(0x00, 0x80, 0x08);              // offsets 0, +1024 pages
        out.raw(0x80, 0x08, 0x80, 0x18);        // lengths 1024, 3072
        out.raw(0x80, 0x20, 0xff, 0x1f);        // storage 2048 (zig-zag 4096), then -2048 (zig-zag 4095)
        out.raw(0x00, 0x01);
        assertThat(blockOf(HeaderCodec.write(h))).isEqualTo(out.bytes());
        assertThat(HeaderCodec.read(framed(5, out.bytes()), "h").mappings()).isEqualTo(h.mappings());
    }

    @Test
    void badBlocks_areOneLineErrors() throws IOException {
        byte[] good = framed(4, v4Block());
        byte[] truncated = Arrays.copyOf(good, good.length - 9);
        assertThatThrownBy(() -> HeaderCodec.read(truncated, "h")).hasMessageContaining("h has a block that does not decode");
        byte[] wrongPrefix = good.clone();
        ByteBuffer.wrap(wrongPrefix).order(ByteOrder.LITTLE_ENDIAN).putInt(65, v4Block().length + 16);
        assertThatThrownBy(() -> HeaderCodec.read(wrongPrefix, "h")).hasMessageContaining("but its size prefix says");
        byte[] shortPrefix = good.clone();
        ByteBuffer.wrap(shortPrefix).order(ByteOrder.LITTLE_ENDIAN).putInt(65, v4Block().length - 16);
        assertThatThrownBy(() -> HeaderCodec.read(shortPrefix, "h")).hasMessageContaining("h has a block");
        byte[] bomb = good.clone();
        ByteBuffer.wrap(bomb).order(ByteOrder.LITTLE_ENDIAN).putInt(65, (256 << 20) + 1);
        assertThatThrownBy(() -> HeaderCodec.read(bomb, "h")).hasMessageContaining("e2b reads at most 268435456");
        byte[] liar = good.clone();
        ByteBuffer.wrap(liar).order(ByteOrder.LITTLE_ENDIAN).putInt(65, 200 << 20);
        assertThatThrownBy(() -> HeaderCodec.read(liar, "h")).hasMessageContaining("more than LZ4 can make");
    }

    @Test
    void badBuildsSections_areOneLineErrors() throws IOException {
        assertThatThrownBy(() -> HeaderCodec.read(framed(4, withBuilds(b -> b.u32(1_000_000))), "h"))
                .hasMessageContaining("build count of 1000000");
        assertThatThrownBy(() -> HeaderCodec.read(framed(4, withBuilds(b -> b.u32(1).uuid(TOP).u64(0)
                .bytes(new byte[32]).u32(7).u32(0))), "h")).hasMessageContaining("unknown compression type 7");
        assertThatThrownBy(() -> HeaderCodec.read(framed(4, withBuilds(b -> b.u32(1).uuid(TOP).u64(0)
                .bytes(new byte[32]).u32(0).u32(3))), "h")).hasMessageContaining("compression type 0 but 3 frames");
        assertThatThrownBy(() -> HeaderCodec.read(framed(4, withBuilds(b -> b.u32(1).uuid(TOP).u64(0)
                .bytes(new byte[32]).u32(1).u32((1 << 20) + 1))), "h")).hasMessageContaining("e2b reads at most 1048576");
        assertThatThrownBy(() -> HeaderCodec.read(framed(4, withBuilds(b -> b.u32(1).uuid(TOP).u64(0)
                .bytes(new byte[32]).u32(1).u32(2).u64(0).u64(0).u32(MIB).u32(10).u64(MIB / 2).u64(10).u32(MIB).u32(10))), "h"))
                .hasMessageContaining("bad frame table for build " + TOP).hasMessageContaining("inside frame 0");
    }

    @Test
    void version5_limits_areOneLineErrors() throws IOException {
        Le tooMany = new Le();
        tooMany.u32(0).u32(1).uuid(TOP).u32((8 << 20) + 1);
        assertThatThrownBy(() -> HeaderCodec.read(framed(5, tooMany.bytes()), "h")).hasMessageContaining("e2b reads at most 8388608");
        Le pastEnd = new Le();
        pastEnd.u32(0).u32(1).uuid(TOP).u32(1).raw(0x00).raw(0x81, 0x20).raw(0x00).raw(0x00); // 4097 pages
        assertThatThrownBy(() -> HeaderCodec.read(framed(5, pastEnd.bytes()), "h")).hasMessageContaining("past the device's 4096 pages");
        Le badIndex = new Le();
        badIndex.u32(0).u32(1).uuid(TOP).u32(1).raw(0x00).raw(0x01).raw(0x00).raw(0x05);
        assertThatThrownBy(() -> HeaderCodec.read(framed(5, badIndex.bytes()), "h")).hasMessageContaining("names build 5 of 1");
    }

    private static byte[] withBuilds(java.util.function.Consumer<Le> builds) {
        Le out = new Le();
        builds.accept(out);
        out.u32(0);
        return out.bytes();
    }

    private static byte[] repeat(byte b, int n) {
        byte[] out = new byte[n];
        Arrays.fill(out, b);
        return out;
    }

    /** Little-endian bytes by hand, independent of the codec under test. */
    static final class Le {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Le u64(long v) {
            return bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }

        Le u32(long v) {
            return bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
        }

        Le uuid(UUID u) {
            return bytes(ByteBuffer.allocate(16).putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits()).array());
        }

        Le raw(int... values) {
            for (int v : values) {
                out.write(v);
            }
            return this;
        }

        Le bytes(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
