package io.tmount;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ByteSizeTest {

    @Test
    void parse_acceptsBytesAndBinarySuffixes() {
        assertThat(ByteSize.parse("4096").bytes()).isEqualTo(4096);
        assertThat(ByteSize.parse("64M").bytes()).isEqualTo(64L << 20);
        assertThat(ByteSize.parse("1g").bytes()).isEqualTo(1L << 30);
        assertThat(ByteSize.parse("512MiB").bytes()).isEqualTo(512L << 20);
        assertThat(ByteSize.parse(" 2 GB ").bytes()).isEqualTo(2L << 30);
        assertThat(ByteSize.parse("3T").bytes()).isEqualTo(3L << 40);
    }

    @Test
    void parse_rejectsGarbageNamingTheValue() {
        assertThatThrownBy(() -> ByteSize.parse("lots")).hasMessageContaining("'lots'").hasMessageContaining("512M");
        assertThatThrownBy(() -> ByteSize.parse("-5M")).hasMessageContaining("'-5M'");
        assertThatThrownBy(() -> ByteSize.parse("99999999999999T")).hasMessageContaining("too large");
    }

    @Test
    void format_isShortAndHuman() {
        assertThat(ByteSize.format(812)).isEqualTo("812 B");
        assertThat(ByteSize.format(64L << 20)).isEqualTo("64.0 MiB");
        assertThat(ByteSize.format(3L << 29)).isEqualTo("1.5 GiB");
    }
}
