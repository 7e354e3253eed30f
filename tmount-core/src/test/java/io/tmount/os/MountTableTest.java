package io.tmount.os;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class MountTableTest {

    @TempDir
    Path dir;

    @Test
    void parse_readsMountPointTypeAndSource_withOptionalFields() {
        MountTable.Entry entry = MountTable.parse(
                "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 shared:7 - ext4 /dev/loop3 rw,errors=continue").orElseThrow();
        assertThat(entry.mountPoint()).isEqualTo(Path.of("/mnt/parent"));
        assertThat(entry.fsType()).isEqualTo("ext4");
        assertThat(entry.source()).isEqualTo("/dev/loop3");
        assertThat(entry.options()).isEqualTo("rw,noatime");
    }

    @Test
    void parse_unescapesSpacesAndBackslashes() {
        MountTable.Entry entry = MountTable.parse(
                "40 1 0:50 / /tmp/with\\040space\\134x rw - fuse /dev/fuse rw").orElseThrow();
        assertThat(entry.mountPoint()).isEqualTo(Path.of("/tmp/with space\\x"));
    }

    @Test
    void parse_ignoresMalformedLines() {
        assertThat(MountTable.parse("garbage")).isEmpty();
        assertThat(MountTable.parse("1 2 3 4 5 6 7 8")).isEmpty();
    }

    @Test
    void mountAt_picksTheTopmostOfStackedMounts() throws IOException {
        Path file = Files.writeString(dir.resolve("mountinfo"), String.join("\n",
                "1 0 0:1 / / rw - ext4 /dev/vda rw",
                "2 1 0:2 / /mnt/x rw - tmpfs tmpfs rw",
                "3 2 0:3 / /mnt/x rw - ext4 /dev/loop0 rw",
                "4 3 0:4 / /mnt/x/sub rw - ext4 /dev/loop1 rw"));
        MountTable table = new MountTable(file);
        assertThat(table.mountAt(Path.of("/mnt/x")).orElseThrow().source()).isEqualTo("/dev/loop0");
        assertThat(table.isMountPoint(Path.of("/mnt/y"))).isFalse();
        assertThat(table.mountsUnder(Path.of("/mnt/x"))).hasSize(3);
    }

    @Test
    void thisProcess_seesTheRootMount() {
        assertThat(MountTable.ofThisProcess().isMountPoint(Path.of("/"))).isTrue();
    }
}
