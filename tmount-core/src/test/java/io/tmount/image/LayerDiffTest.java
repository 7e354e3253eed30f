package io.tmount.image;

import io.tmount.header.BuildMapping;
import io.tmount.header.HeaderCodec;
import io.tmount.header.Header;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

class LayerDiffTest {

    private static final int B = Overlay.BLOCK;
    private static final UUID PARENT = UUID.fromString("11111111-1111-1111-1111-111111111111");
    private static final UUID GRANDPARENT = UUID.fromString("22222222-2222-2222-2222-222222222222");
    private static final UUID NEW = UUID.fromString("33333333-3333-3333-3333-333333333333");

    @TempDir
    Path dir;

    @Test
    void ownBlocksArePacked_zeroBlocksGoToNil_andTheParentIsKeptElsewhere() throws IOException {
        int size = 32 * B;
        // the parent: blocks 0-15 from the grandparent at 0, 16-23 zeros, 24-31 its own at 4096
        List<BuildMapping> parent = List.of(
                new BuildMapping(0, 16L * B, GRANDPARENT, 0),
                new BuildMapping(16L * B, 8L * B, BuildMapping.NIL, 0),
                new BuildMapping(24L * B, 8L * B, PARENT, B));
        byte[] lowerBytes = new byte[size];
        try (Overlay overlay = Overlay.open(new MemoryImage(lowerBytes), dir.resolve("ov"))) {
            byte[] a = filled(2 * B, 0xa1);
            byte[] c = filled(B, 0xc3);
            overlay.write(ByteBuffer.wrap(a), 2L * B);        // blocks 2-3 own
            overlay.writeZeroes(8L * B, 4L * B, false);      // blocks 8-11 zero
            overlay.write(ByteBuffer.wrap(c), 20L * B);       // block 20 own (inside the parent's zero range)
            overlay.writeZeroes(25L * B, B, false);           // block 25 zero
            Path packed = dir.resolve("packed");
            LayerDiff.Result result;
            try (FileChannel out = FileChannel.open(packed, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                result = LayerDiff.write(overlay, parent, NEW, out);
            }
            assertThat(result.mappings()).containsExactly(
                    new BuildMapping(0, 2L * B, GRANDPARENT, 0),
                    new BuildMapping(2L * B, 2L * B, NEW, 0),
                    new BuildMapping(4L * B, 4L * B, GRANDPARENT, 4L * B),
                    new BuildMapping(8L * B, 4L * B, BuildMapping.NIL, 0),
                    new BuildMapping(12L * B, 4L * B, GRANDPARENT, 12L * B),
                    new BuildMapping(16L * B, 4L * B, BuildMapping.NIL, 0),
                    new BuildMapping(20L * B, B, NEW, 2L * B),
                    new BuildMapping(21L * B, 3L * B, BuildMapping.NIL, 0),
                    new BuildMapping(24L * B, B, PARENT, B),
                    new BuildMapping(25L * B, B, BuildMapping.NIL, 0),
                    new BuildMapping(26L * B, 6L * B, PARENT, 3L * B));
            assertThat(result.ownBytes()).isEqualTo(3L * B);
            assertThat(result.zeroBytes()).isEqualTo(5L * B);
            byte[] expected = new byte[3 * B];
            System.arraycopy(a, 0, expected, 0, 2 * B);
            System.arraycopy(c, 0, expected, 2 * B, B);
            assertThat(Files.readAllBytes(packed)).isEqualTo(expected);
            // the result is a valid header: contiguous, covering the device
            HeaderCodec.read(HeaderCodec.write(new Header(3, B, size, 2, NEW, GRANDPARENT, result.mappings())), "new");
        }
    }

    @Test
    void sinceAMark_onlyLaterChangesAreInTheLayer_partialWritesToOwnBlocksIncluded() throws IOException {
        int size = 16 * B;
        UUID first = UUID.fromString("44444444-4444-4444-4444-444444444444");
        try (Overlay overlay = Overlay.open(new MemoryImage(new byte[size]), dir.resolve("ov"))) {
            overlay.write(ByteBuffer.wrap(filled(4 * B, 0x11)), 0);        // blocks 0-3, committed as the first layer
            overlay.writeZeroes(8L * B, 2L * B, false);                     // blocks 8-9 zero, committed too
            List<BuildMapping> firstLayer;
            try (FileChannel out = FileChannel.open(dir.resolve("p1"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                firstLayer = LayerDiff.write(overlay, List.of(new BuildMapping(0, size, PARENT, 0)), first, out, true)
                        .mappings();
            }
            overlay.mark();
            assertThat(overlay.ownBlocksSinceMark()).isZero();
            // after the mark: 1 KiB into block 0 (the superblock's place), block 12 whole, block 8 written over its zeros
            overlay.write(ByteBuffer.wrap(filled(1024, 0x22)), 1024);
            overlay.write(ByteBuffer.wrap(filled(B, 0x33)), 12L * B);
            overlay.write(ByteBuffer.wrap(filled(B, 0x44)), 8L * B);
            overlay.writeZeroes(2L * B, B, false);                         // block 2 zeroed
            assertThat(overlay.ownBlocksSinceMark()).isEqualTo(3);
            Path packed = dir.resolve("p2");
            LayerDiff.Result second;
            try (FileChannel out = FileChannel.open(packed, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                second = LayerDiff.write(overlay, firstLayer, NEW, out, true);
            }
            assertThat(second.mappings()).containsExactly(
                    new BuildMapping(0, B, NEW, 0),                          // block 0, whole, with the new KiB
                    new BuildMapping(B, B, first, B),                        // block 1: the first layer's
                    new BuildMapping(2L * B, B, BuildMapping.NIL, 0),
                    new BuildMapping(3L * B, B, first, 3L * B),
                    new BuildMapping(4L * B, 4L * B, PARENT, 4L * B),
                    new BuildMapping(8L * B, B, NEW, B),
                    new BuildMapping(9L * B, B, BuildMapping.NIL, 0),        // the first layer's zeros, kept
                    new BuildMapping(10L * B, 2L * B, PARENT, 10L * B),
                    new BuildMapping(12L * B, B, NEW, 2L * B),
                    new BuildMapping(13L * B, 3L * B, PARENT, 13L * B));
            byte[] block0 = filled(B, 0x11);
            Arrays.fill(block0, 1024, 2048, (byte) 0x22);
            byte[] expected = new byte[3 * B];
            System.arraycopy(block0, 0, expected, 0, B);
            System.arraycopy(filled(B, 0x44), 0, expected, B, B);
            System.arraycopy(filled(B, 0x33), 0, expected, 2 * B, B);
            assertThat(Files.readAllBytes(packed)).isEqualTo(expected);
            // without the mark's view, the layer would hold everything the overlay has
            try (FileChannel out = FileChannel.open(dir.resolve("p3"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                assertThat(LayerDiff.write(overlay, firstLayer, NEW, out, false).ownBytes()).isEqualTo(5L * B);
            }
        }
    }

    @Test
    void aDeviceOffTheBlockGrid_getsWholeBlockMappings_andItsLastOwnBlockIsPaddedWithZeros() throws IOException {
        int size = 8 * B + 1000; // an old tmount build could have such a size
        List<BuildMapping> parent = List.of(new BuildMapping(0, 9L * B, PARENT, 0));
        try (Overlay overlay = Overlay.open(new MemoryImage(new byte[size]), dir.resolve("ov"))) {
            byte[] tail = filled(1000, 0x7e);
            overlay.write(ByteBuffer.wrap(tail), 8L * B);
            Path packed = dir.resolve("packed");
            LayerDiff.Result result;
            try (FileChannel out = FileChannel.open(packed, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                result = LayerDiff.write(overlay, parent, NEW, out);
            }
            assertThat(result.mappings()).containsExactly(new BuildMapping(0, 8L * B, PARENT, 0),
                    new BuildMapping(8L * B, B, NEW, 0));
            byte[] expected = new byte[B];
            System.arraycopy(tail, 0, expected, 0, 1000);
            assertThat(Files.readAllBytes(packed)).isEqualTo(expected);
            assertThat(result.ownBytes()).isEqualTo(B);
        }
    }

    @Test
    void adjacentMappingsOfOneBuild_mergeOnlyWhenTheirStorageIsContiguous() {
        List<BuildMapping> out = new ArrayList<>();
        LayerDiff.add(out, new BuildMapping(0, B, PARENT, 0));
        LayerDiff.add(out, new BuildMapping(B, B, PARENT, B));           // contiguous: merged
        LayerDiff.add(out, new BuildMapping(2L * B, B, PARENT, 10L * B)); // storage jumps: kept apart
        LayerDiff.add(out, new BuildMapping(3L * B, B, BuildMapping.NIL, 0));
        LayerDiff.add(out, new BuildMapping(4L * B, B, BuildMapping.NIL, 0)); // zeros always merge
        assertThat(out).containsExactly(new BuildMapping(0, 2L * B, PARENT, 0),
                new BuildMapping(2L * B, B, PARENT, 10L * B), new BuildMapping(3L * B, 2L * B, BuildMapping.NIL, 0));
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }
}
