package io.tmount.builder;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Paths as a chrooted process sees them: symlinks stay inside the root, ".." never leaves it. */
class RootPathsTest {

    @TempDir
    Path dir;

    private Path root;

    @BeforeEach
    void tree() throws IOException {
        root = Files.createDirectories(dir.resolve("root"));
        Files.createDirectories(root.resolve("usr/lib"));
        Files.createDirectories(root.resolve("data"));
        Files.createSymbolicLink(root.resolve("lib"), Path.of("usr/lib"));          // relative, inside
        Files.createSymbolicLink(root.resolve("etc-link"), Path.of("/etc"));        // absolute: the root's /etc
        Files.createSymbolicLink(root.resolve("data/up"), Path.of("../../../.."));  // climbs: stops at the root
        Files.createSymbolicLink(root.resolve("loop"), Path.of("loop"));
    }

    @Test
    void plainPaths_andRelativeOnesFromTheWorkingFolder() {
        assertThat(RootPaths.resolve(root, "/", "/usr/lib/x")).isEqualTo(root.resolve("usr/lib/x"));
        assertThat(RootPaths.resolve(root, "/data", "file")).isEqualTo(root.resolve("data/file"));
        assertThat(RootPaths.resolve(root, "/", "/")).isEqualTo(root);
    }

    @Test
    void symlinks_areFollowedInsideTheRoot() {
        assertThat(RootPaths.resolve(root, "/", "/lib/libc.so")).isEqualTo(root.resolve("usr/lib/libc.so"));
        assertThat(RootPaths.resolve(root, "/", "/etc-link/passwd")).isEqualTo(root.resolve("etc/passwd"));
    }

    @Test
    void escapes_areRefused() {
        assertThatThrownBy(() -> RootPaths.resolve(root, "/", "/../etc/passwd")).hasMessageContaining("leaves the build root");
        assertThatThrownBy(() -> RootPaths.resolve(root, "/data", "../../x")).hasMessageContaining("leaves the build root");
        assertThatThrownBy(() -> RootPaths.resolve(root, "/", "/data/up/x")).hasMessageContaining("leaves the build root");
        assertThatThrownBy(() -> RootPaths.resolve(root, "/", "/missing/../../x")).hasMessageContaining("leaves the build root");
        assertThatThrownBy(() -> RootPaths.resolve(root, "/", "/loop/x")).hasMessageContaining("too many levels");
    }

    @Test
    void inRoot_isThePathTheBuildSees() {
        assertThat(RootPaths.inRoot(root, root.resolve("mnt/source"))).isEqualTo("/mnt/source");
    }
}
