package io.tmount.files;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class NamesTest {

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void display_keepsPrintableUtf8_andEscapesEverythingThatCouldMislead() {
        assertThat(Names.display(bytes("café ü.txt"))).isEqualTo("café ü.txt");
        assertThat(Names.display(bytes("a\nb\tc\\d"))).isEqualTo("a\\nb\\tc\\\\d");
        assertThat(Names.display(new byte[]{'b', (byte) 0xff, (byte) 0xfe, 'x'})).isEqualTo("b\\xff\\xfex");
        assertThat(Names.display(new byte[]{(byte) 0xc3})).isEqualTo("\\xc3"); // a cut UTF-8 sequence
        assertThat(Names.display(bytes("\u0001\u007f"))).isEqualTo("\\x01\\x7f");
        // a right-to-left override and a zero-width joiner would make two names look alike
        assertThat(Names.display(bytes("a\u202Eb\u200Dc"))).isEqualTo("a\\xe2\\x80\\xaeb\\xe2\\x80\\x8dc");
        assertThat(Names.display(bytes("x\\xff"))).isNotEqualTo(Names.display(new byte[]{'x', (byte) 0xff}));
    }

    @Test
    void mtree_isPrintableAsciiAndOctal() {
        assertThat(Names.mtree(bytes("a b\\c\n"))).isEqualTo("a\\040b\\134c\\012");
        assertThat(Names.mtree(bytes("é"))).isEqualTo("\\303\\251");
    }
}
