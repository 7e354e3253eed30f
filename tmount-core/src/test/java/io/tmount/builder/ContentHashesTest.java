package io.tmount.builder;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

import static org.assertj.core.api.Assertions.assertThat;

class ContentHashesTest {

    @TempDir
    Path dir;

    @Test
    void aFileChangedInPlace_isReadAgain_evenWithItsSizeAndTimeSetBack() throws IOException {
        ContentHashes hashes = new ContentHashes(java.time.Duration.ZERO);
        Path file = dir.resolve("a");
        Files.writeString(file, "one");
        FileTime time = Files.getLastModifiedTime(file);
        String one = hashes.sha256(file);
        assertThat(one).isEqualTo("7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed");
        assertThat(hashes.sha256(file)).isEqualTo(one);
        assertThat(hashes.filesRead()).isOne(); // the second time from memory

        Files.writeString(file, "two"); // same size, and the modification time put back: only ctime tells
        Files.setLastModifiedTime(file, time);
        assertThat(hashes.sha256(file)).isEqualTo("3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3");
        assertThat(hashes.filesRead()).isEqualTo(2);
    }

    @Test
    void aFileChangedMomentsAgo_isNotRemembered_sinceAnotherChangeInTheSameClockTickWouldNotShow() throws IOException {
        ContentHashes hashes = new ContentHashes(); // remembers files settled for 3 s
        Path file = dir.resolve("fresh");
        Files.writeString(file, "one");
        hashes.sha256(file);
        hashes.sha256(file);
        assertThat(hashes.filesRead()).isEqualTo(2);
    }
}
