package io.tmount.mount;

import io.tmount.TmountException;
import io.tmount.os.MountTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MountPathsTest {

    @TempDir
    Path dir;

    private MountPaths paths() {
        return new MountPaths(List.of(dir.resolve("state"), dir.resolve("run")), MountTable.ofThisProcess());
    }

    @Test
    void absoluteNormalizedPath_isAccepted_evenIfMissing() {
        assertThat(paths().validate(dir.resolve("a/b").toString())).isEqualTo(dir.resolve("a/b"));
        assertThat(paths().validate("/mnt/source")).isEqualTo(Path.of("/mnt/source"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"relative/path", "./x", ""})
    void relativeOrEmpty_isRefused(String path) {
        assertThatThrownBy(() -> paths().validate(path)).isInstanceOf(TmountException.class)
                .hasMessageMatching("mount path .*(must be absolute|is missing)");
    }

    @Test
    void notNormalized_isRefusedWithTheNormalForm() {
        assertThatThrownBy(() -> paths().validate("/mnt/a/../b")).hasMessageContaining("not normalized (use /mnt/b)");
        assertThatThrownBy(() -> paths().validate("/mnt/./b")).hasMessageContaining("not normalized");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/", "/tmp", "/home", "/var", "/mnt", "/root"})
    void systemFolderItself_isRefused(String path) {
        assertThatThrownBy(() -> paths().validate(path)).hasMessageContaining("is a system folder");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/proc/x", "/sys", "/dev/shm/x", "/boot/x", "/etc/tmount", "/usr/local/x", "/bin",
            "/sbin/x", "/lib/x", "/lib64", "/run/x"})
    void insideSystemTrees_isRefused(String path) {
        assertThatThrownBy(() -> paths().validate(path)).hasMessageContaining("inside the system folder");
    }

    @Test
    void insideTmountsOwnFolders_isRefused() {
        assertThatThrownBy(() -> paths().validate(dir.resolve("state/mounts/x").toString()))
                .hasMessageContaining("inside tmount's own folder " + dir.resolve("state"));
        assertThatThrownBy(() -> paths().validate(dir.resolve("run").toString())).hasMessageContaining("tmount's own folder");
    }

    @Test
    void aPathAboveTmountsOwnFolders_isRefused() {
        assertThatThrownBy(() -> paths().validate(dir.toString()))
                .hasMessageContaining("would hide tmount's own folder " + dir.resolve("state"));
    }

    @Test
    void symlinkComponent_isRefusedNamingWhereItPoints() throws IOException {
        Files.createDirectories(dir.resolve("real"));
        Files.createSymbolicLink(dir.resolve("link"), dir.resolve("real"));
        assertThatThrownBy(() -> paths().validate(dir.resolve("link/mnt").toString()))
                .hasMessageContaining("goes through a symlink: " + dir.resolve("link") + " points to " + dir.resolve("real"));
        Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("nowhere"));
        assertThatThrownBy(() -> paths().validate(dir.resolve("dangling").toString())).hasMessageContaining("symlink");
    }

    @Test
    void existingFile_isRefused() throws IOException {
        Files.writeString(dir.resolve("file"), "x");
        assertThatThrownBy(() -> paths().validate(dir.resolve("file").toString())).hasMessageContaining("not a directory");
    }

    @Test
    void controlCharacters_areRefused() {
        assertThatThrownBy(() -> paths().validate("/mnt/a\nb")).hasMessageContaining("control characters");
    }

    @Test
    void aPathWithSomethingMounted_isAConflictNamingIt() {
        assertThatThrownBy(() -> paths().checkNotMounted(Path.of("/proc")))
                .hasMessageContaining("something is already mounted at /proc (proc");
    }

    @Test
    void createMissing_andRemoveCreated_touchOnlyWhatWasCreated() throws IOException {
        Files.createDirectories(dir.resolve("exists"));
        List<Path> created = MountPaths.createMissing(dir.resolve("exists/a/b"));
        assertThat(created).containsExactly(dir.resolve("exists/a"), dir.resolve("exists/a/b"));
        MountPaths.removeCreated(created);
        assertThat(dir.resolve("exists/a")).doesNotExist();
        assertThat(dir.resolve("exists")).isDirectory();
    }

    @Test
    void removeCreated_keepsFoldersSomeoneFilled() throws IOException {
        List<Path> created = MountPaths.createMissing(dir.resolve("x/y"));
        Files.writeString(dir.resolve("x/keep.txt"), "mine");
        MountPaths.removeCreated(created);
        assertThat(dir.resolve("x/y")).doesNotExist();
        assertThat(dir.resolve("x/keep.txt")).exists();
    }
}
