package io.tmount.os;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Runs as root, as the daemon does, with the JDK's socket internals exported (the test JVM's flags). */
class SocketBuffersTest {

    @TempDir
    Path dir;

    @Test
    void aSendBufferOverTheHostsCapIsGrantedInFull() throws Exception {
        // (read by lines: a sysctl file read with a size hint of its empty stat comes back cut short)
        long cap = Long.parseLong(Files.readAllLines(Path.of("/proc/sys/net/core/wmem_max")).getFirst().trim());
        int wanted = (int) Math.min(cap * 2, Integer.MAX_VALUE / 4); // over the cap, whatever it is
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(dir.resolve("s.sock")));
            try (SocketChannel client = SocketChannel.open(server.getLocalAddress());
                 SocketChannel accepted = server.accept()) {
                assertThat(SocketBuffers.setSendBuffer(accepted, wanted)).isEqualTo(wanted); // SO_SNDBUF: the cap
                assertThat(client.isConnected()).isTrue();
            }
        }
    }
}
