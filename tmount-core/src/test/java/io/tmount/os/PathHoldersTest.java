package io.tmount.os;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class PathHoldersTest {

    @TempDir
    Path dir;

    @Test
    void findsAProcessWhoseWorkingDirectoryIsUnderThePath() throws Exception {
        Path inside = Files.createDirectories(dir.resolve("held/sub"));
        Process sleeper = new ProcessBuilder("sleep", "30").directory(inside.toFile()).start();
        try {
            assertThat(PathHolders.ofThisHost().holding(dir.resolve("held")))
                    .anySatisfy(h -> {
                        assertThat(h.pid()).isEqualTo(sleeper.pid());
                        assertThat(h.command()).isEqualTo("sleep");
                        assertThat(h.how()).isEqualTo("cwd");
                    });
        } finally {
            sleeper.destroyForcibly();
            sleeper.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void findsAnOpenFile_andNothingForAnUnusedPath() throws IOException {
        Files.createDirectories(dir.resolve("open"));
        Path file = Files.writeString(dir.resolve("open/file.txt"), "x");
        try (FileChannel ignored = FileChannel.open(file, StandardOpenOption.READ)) {
            assertThat(PathHolders.ofThisHost().holding(dir.resolve("open")))
                    .anySatisfy(h -> assertThat(h.pid()).isEqualTo(ProcessHandle.current().pid()));
        }
        assertThat(PathHolders.ofThisHost().holding(Files.createDirectories(dir.resolve("unused")))).isEmpty();
    }
}
