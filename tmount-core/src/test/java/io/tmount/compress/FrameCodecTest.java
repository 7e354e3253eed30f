package io.tmount.compress;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

import static io.tmount.compress.CodecCliInteropTest.decode;
import static io.tmount.compress.CodecCliInteropTest.encode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Both codecs: round trips, and every way a damaged frame must fail instead of yielding wrong bytes. */
class FrameCodecTest {

    private static final byte[] DATA = Samples.mixed(2 << 20, 3);

    private static FrameCodec codec(Compression compression) {
        return FrameCodec.of(compression, 0);
    }

    @ParameterizedTest
    @EnumSource(value = Compression.class, names = {"ZSTD", "LZ4"})
    void roundTrip_directAndHeapBuffers(Compression compression) throws IOException {
        byte[] frame = encode(codec(compression), DATA);
        assertThat(frame.length).isLessThan(DATA.length);
        assertThat(decode(codec(compression), frame, DATA.length)).isEqualTo(DATA);
        ByteBuffer heap = ByteBuffer.allocate(DATA.length);
        codec(compression).decode(ByteBuffer.wrap(frame), heap, DATA.length);
        assertThat(heap.array()).isEqualTo(DATA);
    }

    @ParameterizedTest
    @EnumSource(value = Compression.class, names = {"ZSTD", "LZ4"})
    void incompressibleData_roundTrips(Compression compression) throws IOException {
        byte[] noise = new byte[1 << 20];
        new java.util.Random(1).nextBytes(noise);
        assertThat(decode(codec(compression), encode(codec(compression), noise), noise.length)).isEqualTo(noise);
    }

    @ParameterizedTest
    @EnumSource(value = Compression.class, names = {"ZSTD", "LZ4"})
    void aTruncatedFrame_fails(Compression compression) throws IOException {
        byte[] frame = encode(codec(compression), DATA);
        for (int cut : new int[]{frame.length - 1, frame.length / 2, 3}) {
            assertThatThrownBy(() -> decode(codec(compression), Arrays.copyOf(frame, cut), DATA.length))
                    .as("cut at %d", cut).isInstanceOf(IOException.class);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Compression.class, names = {"ZSTD", "LZ4"})
    void aFlippedByte_failsItsChecksum(Compression compression) throws IOException {
        byte[] frame = encode(codec(compression), DATA);
        for (int at : new int[]{frame.length / 3, frame.length / 2, frame.length - 6}) {
            byte[] bad = frame.clone();
            bad[at] ^= 0x40;
            assertThatThrownBy(() -> decode(codec(compression), bad, DATA.length))
                    .as("byte %d flipped", at).isInstanceOf(IOException.class);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Compression.class, names = {"ZSTD", "LZ4"})
    void aFrameOfAnotherSize_fails_andNeverWritesPastTheExpectedBytes(Compression compression) throws IOException {
        byte[] frame = encode(codec(compression), DATA);
        ByteBuffer guard = ByteBuffer.allocateDirect(DATA.length + 4096);
        guard.position(DATA.length - 4096).put(new byte[8192]).clear();
        assertThatThrownBy(() -> codec(compression).decode(ByteBuffer.wrap(frame), guard.duplicate(), DATA.length - 4096))
                .isInstanceOf(IOException.class);
        for (int i = DATA.length - 4096; i < DATA.length + 4096; i++) {
            assertThat(guard.get(i)).as("byte %d", i).isZero();
        }
        assertThatThrownBy(() -> decode(codec(compression), frame, DATA.length + 1)).isInstanceOf(IOException.class)
                .hasMessageContaining("its table says");
    }

    @Test
    void aClosedZstdCodec_freesItsContexts_andStillWorksForCallsThatComeLate() throws IOException {
        ZstdCodec codec = new ZstdCodec(0);
        byte[] frame = encode(codec, DATA);
        codec.close(); // what a chunk cache does when it closes: the pooled native contexts are freed
        assertThat(decode(codec, frame, DATA.length)).isEqualTo(DATA); // a late caller gets a fresh, freed context
    }

    @Test
    void lz4_garbageAndOtherFormats_areNamed() {
        assertThatThrownBy(() -> decode(new Lz4Codec(false), new byte[]{0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0, 0}, 10))
                .hasMessageContaining("not an LZ4 frame");
        assertThatThrownBy(() -> decode(new Lz4Codec(false), new byte[0], 10)).hasMessageContaining("empty");
    }

    @Test
    void lz4_aSkippableFrameBeforeTheData_isSkipped() throws IOException {
        byte[] frame = encode(new Lz4Codec(true), DATA);
        ByteBuffer both = ByteBuffer.allocate(12 + frame.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        both.putInt(0x184D2A53).putInt(4).putInt(0xdeadbeef).put(frame);
        assertThat(decode(new Lz4Codec(false), both.array(), DATA.length)).isEqualTo(DATA);
    }
}
