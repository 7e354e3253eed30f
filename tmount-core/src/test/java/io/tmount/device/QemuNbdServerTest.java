package io.tmount.device;

import io.tmount.testing.HostTool;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import io.tmount.testing.Trees;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@ExtendWith(NoLeftovers.class)
class QemuNbdServerTest {

    @TempDir
    Path dir;

    @Test
    void servesTheImage_andCloseStopsItAndRemovesTheSocket() throws IOException {
        HostTool.require("qemu-nbd", "qemu-utils");
        byte[] data = new byte[4 << 20];
        new Random(2).nextBytes(data);
        Path image = Files.write(dir.resolve("disk.img"), data);
        Path socket = dir.resolve("run/nbd.sock");
        long pid;
        try (QemuNbdServer server = QemuNbdServer.start(image, socket, "build-1", true, Duration.ofSeconds(15))) {
            pid = server.pid();
            assertThat(server.endpoint().uri()).isEqualTo("nbd+unix:///build-1?socket=" + socket);
            assertThat(Run.ok("nbdinfo", server.endpoint().uri()).stdout()).contains("is_read_only: true");
            Path copy = dir.resolve("copy.img");
            Run.ok("nbdcopy", server.endpoint().uri(), copy.toString());
            assertThat(Trees.sha256(copy)).isEqualTo(Trees.sha256(image));
        }
        assertThat(socket).doesNotExist();
        assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).isEmpty();
    }

    @Test
    void aMissingImage_failsWithQemuNbdsOwnMessage() {
        assertThatThrownBy(() -> QemuNbdServer.start(dir.resolve("missing.img"), dir.resolve("s.sock"), "x", false,
                Duration.ofSeconds(15))).hasMessageContaining("qemu-nbd exited").hasMessageContaining("missing.img");
    }

    @Test
    void reclaim_stopsAnOrphan_butNotAnUnrelatedProcess() throws Exception {
        Path image = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        QemuNbdServer server = QemuNbdServer.start(image, dir.resolve("s.sock"), "x", false, Duration.ofSeconds(15));
        QemuNbdServer.reclaim(server.pid(), dir.toString());
        assertThat(ProcessHandle.of(server.pid()).filter(ProcessHandle::isAlive)).isEmpty();
        server.close();

        Process sleeper = new ProcessBuilder("sleep", "30").start();
        try {
            QemuNbdServer.reclaim(sleeper.pid(), dir.toString()); // a reused pid must not be killed
            assertThat(sleeper.isAlive()).isTrue();
        } finally {
            sleeper.destroyForcibly().waitFor();
        }
    }
}
