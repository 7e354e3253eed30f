package io.tmount.os;

import io.tmount.testing.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FoldersTest {

    @TempDir
    Path dir;

    @Test
    void deleteTree_removesEverything() throws IOException {
        Files.createDirectories(dir.resolve("t/a/b"));
        Files.writeString(dir.resolve("t/a/b/f"), "x");
        Files.createSymbolicLink(dir.resolve("t/link"), Path.of("/etc"));
        Folders.deleteTree(dir.resolve("t"));
        assertThat(dir.resolve("t")).doesNotExist();
        assertThat(Path.of("/etc/hostname")).exists(); // the symlink was removed, not followed
    }

    @Test
    void deleteTree_neverEntersAnotherMount() throws IOException {
        Path mountPoint = Files.createDirectories(dir.resolve("t/mnt"));
        Run.ok("mount", "-t", "tmpfs", "tmpfs", mountPoint.toString());
        try {
            Files.writeString(mountPoint.resolve("precious"), "keep me");
            assertThatThrownBy(() -> Folders.deleteTree(dir.resolve("t"))).hasMessageContaining("another mount");
            assertThat(mountPoint.resolve("precious")).hasContent("keep me");
        } finally {
            Run.ok("umount", mountPoint.toString());
        }
    }

    @Test
    void deleteTree_ofAMissingPath_isFine() throws IOException {
        Folders.deleteTree(dir.resolve("nothing"));
    }
}
