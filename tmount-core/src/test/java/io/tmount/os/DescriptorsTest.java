package io.tmount.os;

import io.tmount.TmountException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Counting descriptors against the limit, on a /proc of this process and on a made-up one. */
class DescriptorsTest {

    @TempDir
    Path dir;

    private Descriptors fake(String soft, int open) throws IOException {
        Path proc = Files.createDirectories(dir.resolve("proc"));
        Files.createDirectories(proc.resolve("fd"));
        for (int i = 0; i < open; i++) {
            Files.writeString(proc.resolve("fd/" + i), "");
        }
        Files.writeString(proc.resolve("limits"), """
                Limit                     Soft Limit           Hard Limit           Units
                Max cpu time              unlimited            unlimited            seconds
                Max open files            %s                  4096                 files
                """.formatted(soft));
        return new Descriptors(proc);
    }

    @Test
    void thisProcess_hasALimitAboveWhatItHasOpen() throws IOException {
        Descriptors self = Descriptors.ofThisProcess();
        assertThat(self.open()).isPositive();
        assertThat(self.limit()).isGreaterThan(self.open());
    }

    @Test
    void workIsRefused_whenItWouldEatIntoTheReserve() throws IOException {
        Descriptors nearlyFull = fake("100", 100 - Descriptors.RESERVE - 15);
        assertThatThrownBy(() -> nearlyFull.require(16, "mount x"))
                .isInstanceOf(TmountException.class)
                .satisfies(e -> assertThat(((TmountException) e).kind()).isEqualTo(TmountException.Kind.UNAVAILABLE))
                .hasMessageContaining("cannot mount x: this process has 37 of its 100 file descriptors open")
                .hasMessageContaining("LimitNOFILE");
        assertThatCode(() -> nearlyFull.require(15, "mount y")).doesNotThrowAnyException();
        assertThatCode(() -> fake("unlimited", 5000).require(16, "mount z")).doesNotThrowAnyException();
    }
}
