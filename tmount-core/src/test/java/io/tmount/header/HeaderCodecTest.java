package io.tmount.header;

import io.tmount.TmountException;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** e2b's header format, with hand-made headers for each malformed case. */
class HeaderCodecTest {

    static final UUID BASE = UUID.fromString("11111111-2222-3333-4444-555555555555");
    static final UUID MID = UUID.fromString("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
    static final UUID TOP = UUID.fromString("01234567-89ab-cdef-0123-456789abcdef");
    static final long MIB = 1 << 20;

    static Header chain() {
        return new Header(3, 4096, 16 * MIB, 2, TOP, BASE, List.of(
                new BuildMapping(0, 4 * MIB, BASE, 0),
                new BuildMapping(4 * MIB, MIB, TOP, 0),
                new BuildMapping(5 * MIB, 3 * MIB, BuildMapping.NIL, 0),
                new BuildMapping(8 * MIB, 2 * MIB, MID, 512 * 1024),
                new BuildMapping(10 * MIB, 6 * MIB, BASE, 10 * MIB)));
    }

    @Test
    void writeThenRead_roundTripsAChainWithZeroRanges() {
        byte[] bytes = HeaderCodec.write(chain());
        assertThat(bytes).hasSize(64 + 5 * 40);
        assertThat(HeaderCodec.read(bytes, "h")).isEqualTo(chain());
    }

    @Test
    void layout_isLittleEndianIntegersAndRfc4122Uuids() {
        ByteBuffer bytes = ByteBuffer.wrap(HeaderCodec.write(chain())).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(bytes.getLong(0)).isEqualTo(3);
        assertThat(bytes.getLong(8)).isEqualTo(4096);
        assertThat(bytes.getLong(16)).isEqualTo(16 * MIB);
        assertThat(bytes.getLong(24)).isEqualTo(2);
        assertThat(bytes.get(32)).isEqualTo((byte) 0x01); // UUID bytes in textual order
        assertThat(bytes.get(33)).isEqualTo((byte) 0x23);
        assertThat(bytes.get(47)).isEqualTo((byte) 0xef);
        assertThat(bytes.get(48)).isEqualTo((byte) 0x11);
        int second = 64 + 40; // second mapping
        assertThat(bytes.getLong(second)).isEqualTo(4 * MIB);
        assertThat(bytes.getLong(second + 8)).isEqualTo(MIB);
        assertThat(bytes.get(second + 16)).isEqualTo((byte) 0x01);
        assertThat(bytes.getLong(second + 32)).isZero();
    }

    @Test
    void versionsOneAndTwo_readTheSameLayout_andHighBitsOfTheVersionAreIgnored() {
        for (long version : new long[]{1, 2, 3 | (7L << 32)}) {
            Header h = new Header(version, 4096, 16 * MIB, 2, TOP, BASE, chain().mappings());
            assertThat(HeaderCodec.read(HeaderCodec.write(h), "h").mappings()).isEqualTo(chain().mappings());
        }
    }

    @Test
    void unknownVersions_areRefusedSayingSo() {
        for (int version : new int[]{0, 6, 9}) {
            byte[] bytes = HeaderCodec.write(new Header(3, 4096, 16 * MIB, 2, TOP, BASE, chain().mappings()));
            java.nio.ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, version);
            assertThatThrownBy(() -> HeaderCodec.read(bytes, "the header of build x"))
                    .isInstanceOf(TmountException.class)
                    .hasMessageContaining("the header of build x has unknown version " + version);
        }
    }

    @Test
    void versionsFourAndFive_roundTripMappingsAndBuilds() {
        for (int version : new int[]{4, 5}) {
            Header h = new Header(version, 4096, 16 * MIB, 2, TOP, BASE, chain().mappings(), java.util.Map.of(
                    TOP, new BuildData(MIB, "ab".repeat(32), io.tmount.compress.FrameTable.NONE),
                    BASE, BuildData.UNKNOWN));
            assertThat(HeaderCodec.read(HeaderCodec.write(h), "h")).isEqualTo(h);
        }
    }

    @Test
    void truncatedHeaders_areRefused() {
        byte[] bytes = HeaderCodec.write(chain());
        assertThatThrownBy(() -> HeaderCodec.read(java.util.Arrays.copyOf(bytes, 40), "h"))
                .hasMessageContaining("truncated: 40 bytes");
        assertThatThrownBy(() -> HeaderCodec.read(java.util.Arrays.copyOf(bytes, bytes.length - 7), "h"))
                .hasMessageContaining("not whole 40-byte mappings");
        // a whole mapping missing: the device is not covered
        assertThatThrownBy(() -> HeaderCodec.read(java.util.Arrays.copyOf(bytes, bytes.length - 40), "h"))
                .hasMessageContaining("maps 10485760 bytes, but the device has 16777216");
    }

    @Test
    void versionsOneAndTwo_readOverlapsAsE2bDoes_theLaterMappingWins() {
        for (int version : new int[]{1, 2}) {
            Header h = HeaderCodec.read(HeaderCodec.write(new Header(version, 4096, 16 * MIB, 1, TOP, BASE, List.of(
                    new BuildMapping(0, 8 * MIB, BASE, 0),
                    new BuildMapping(4 * MIB, 0, MID, 0),
                    new BuildMapping(4 * MIB, 2 * MIB, TOP, 0),
                    new BuildMapping(5 * MIB, 11 * MIB, MID, 0)))), "h");
            assertThat(h.mappings()).containsExactly(
                    new BuildMapping(0, 4 * MIB, BASE, 0),
                    new BuildMapping(4 * MIB, MIB, TOP, 0),
                    new BuildMapping(5 * MIB, 11 * MIB, MID, 0));
        }
        // version 3 is strict
        assertThatThrownBy(() -> read(new BuildMapping(0, 8 * MIB, BASE, 0), new BuildMapping(4 * MIB, 12 * MIB, TOP, 0)))
                .hasMessageContaining("overlaps");
    }

    @Test
    void aDeviceSizeOffThePageGrid_mayBeCoveredToTheNextPage_asE2bPadsIt() {
        long size = 16 * MIB - 1000;
        Header padded = new Header(3, 4096, size, 0, TOP, TOP, List.of(new BuildMapping(0, 16 * MIB, TOP, 0)));
        assertThat(HeaderCodec.read(HeaderCodec.write(padded), "h").mappings()).hasSize(1);
        Header exact = new Header(3, 4096, size, 0, TOP, TOP, List.of(new BuildMapping(0, size, TOP, 0)));
        assertThat(HeaderCodec.read(HeaderCodec.write(exact), "h").mappings()).hasSize(1);
        Header beyond = new Header(3, 4096, size, 0, TOP, TOP, List.of(new BuildMapping(0, 16 * MIB + 4096, TOP, 0)));
        assertThatThrownBy(() -> HeaderCodec.read(HeaderCodec.write(beyond), "h")).hasMessageContaining("but the device has");
    }

    @Test
    void overlappingGapsAndEmptyMappings_areRefused() {
        assertThatThrownBy(() -> read(new BuildMapping(0, 4 * MIB, BASE, 0), new BuildMapping(3 * MIB, 13 * MIB, TOP, 0)))
                .hasMessageContaining("mapping 1 at offset 3145728 overlaps the previous one, which ends at 4194304");
        assertThatThrownBy(() -> read(new BuildMapping(0, 4 * MIB, BASE, 0), new BuildMapping(5 * MIB, 11 * MIB, TOP, 0)))
                .hasMessageContaining("leaves bytes 4194304 to 5242880 unmapped");
        assertThatThrownBy(() -> read(new BuildMapping(MIB, 15 * MIB, BASE, 0)))
                .hasMessageContaining("leaves bytes 0 to 1048576 unmapped");
        assertThatThrownBy(() -> read(new BuildMapping(0, 0, BASE, 0), new BuildMapping(0, 16 * MIB, BASE, 0)))
                .hasMessageContaining("mapping 0 at offset 0 has length 0");
        assertThatThrownBy(() -> read(new BuildMapping(0, 20 * MIB, BASE, 0)))
                .hasMessageContaining("maps 20971520 bytes, but the device has 16777216");
        // a storage offset whose end overflows would slip past the check against the object's size
        assertThatThrownBy(() -> read(new BuildMapping(0, 16 * MIB, BASE, Long.MAX_VALUE - MIB)))
                .hasMessageContaining("mapping 0 has an offset out of range");
        assertThatThrownBy(() -> read(new BuildMapping(0, 16 * MIB, BASE, -4096)))
                .hasMessageContaining("mapping 0 has an offset out of range");
    }

    @Test
    void badMetadata_isRefused() {
        assertThatThrownBy(() -> HeaderCodec.read(HeaderCodec.write(
                new Header(3, 3000, 16 * MIB, 0, TOP, BASE, chain().mappings())), "h")).hasMessageContaining("block size 3000");
        assertThatThrownBy(() -> HeaderCodec.read(HeaderCodec.write(
                new Header(3, 4096, 0, 0, TOP, BASE, List.of())), "h")).hasMessageContaining("device size 0");
    }

    private static Header read(BuildMapping... mappings) {
        return HeaderCodec.read(HeaderCodec.write(new Header(3, 4096, 16 * MIB, 1, TOP, BASE, List.of(mappings))), "h");
    }
}
