package io.tmount.compress;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FrameTableTest {

    private static final int M = 1 << 20;

    private static FrameTable table() {
        return FrameTable.contiguous(Compression.ZSTD, new int[]{2 * M, 2 * M, 2 * M, M}, new int[]{100, 200, 300, 50});
    }

    @Test
    void contiguous_placesFramesBackToBackInBothSpaces() {
        FrameTable t = table();
        assertThat(t.startU(2)).isEqualTo(4L * M);
        assertThat(t.startC(2)).isEqualTo(300);
        assertThat(t.endU()).isEqualTo(7L * M);
        assertThat(t.endC()).isEqualTo(650);
        assertThat(t.uncompressedBytes()).isEqualTo(7L * M);
        assertThat(t.compressedBytes()).isEqualTo(650);
    }

    @Test
    void find_and_covers() {
        FrameTable t = table();
        assertThat(t.find(0)).isZero();
        assertThat(t.find(2L * M - 1)).isZero();
        assertThat(t.find(2L * M)).isEqualTo(1);
        assertThat(t.find(7L * M)).isEqualTo(-1);
        assertThat(t.covers(M, 7L * M)).isTrue();
        assertThat(t.covers(M, 7L * M + 1)).isFalse();
    }

    @Test
    void trimmed_keepsTheFramesRangesTouch_andLeavesAGap() {
        FrameTable trimmed = table().trimmedTo(List.of(new long[]{0, 4096}, new long[]{6L * M, 6L * M + 8192}));
        assertThat(trimmed.count()).isEqualTo(2);
        assertThat(trimmed.find(3L * M)).isEqualTo(-1);
        assertThat(trimmed.firstGap(0, 7L * M)).isEqualTo(2L * M);
        assertThat(table().trimmedTo(List.of())).isEqualTo(table()); // as e2b: no ranges, nothing trimmed
    }

    @Test
    void merge_ofTwoTrimmedTables_isTheUnion_andConflictsAreRefused() {
        FrameTable a = table().trimmedTo(List.<long[]>of(new long[]{0, 1}));
        FrameTable b = table().trimmedTo(List.<long[]>of(new long[]{6L * M, 6L * M + 1}, new long[]{0, 1}));
        assertThat(a.merge(b).count()).isEqualTo(2);
        assertThat(a.merge(b).merge(table())).isEqualTo(table());
        FrameTable other = FrameTable.contiguous(Compression.ZSTD, new int[]{2 * M}, new int[]{99});
        assertThatThrownBy(() -> table().merge(other)).hasMessageContaining("disagree on the frame at uncompressed offset 0");
        FrameTable lz4 = FrameTable.contiguous(Compression.LZ4, new int[]{2 * M}, new int[]{100});
        assertThatThrownBy(() -> table().merge(lz4)).hasMessageContaining("disagree on the compression");
    }

    @Test
    void badTables_areRefusedAsE2bRefusesThem() {
        assertThatThrownBy(() -> FrameTable.of(Compression.ZSTD, new long[]{0, M}, new long[]{0, 10}, new int[]{2 * M, M},
                new int[]{10, 10})).hasMessageContaining("inside frame 0");
        assertThatThrownBy(() -> FrameTable.of(Compression.ZSTD, new long[]{0}, new long[]{0}, new int[]{0},
                new int[]{10})).hasMessageContaining("has size 0");
        assertThatThrownBy(() -> FrameTable.of(Compression.NONE, new long[]{0}, new long[]{0}, new int[]{1},
                new int[]{1})).hasMessageContaining("compression type is none");
        assertThat(FrameTable.of(Compression.ZSTD, new long[0], new long[0], new int[0], new int[0]).compressed()).isFalse();
    }
}
