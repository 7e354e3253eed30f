package io.tmount.daemon;

import io.tmount.TmountException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The client's side of a daemon that goes away. */
class DaemonClientTest {

    @TempDir
    Path dir;

    @Test
    void aDaemonThatDiesMidBuild_isOneClearLine_notTheHttpClientsInternals() throws Exception {
        // issue 12 D18: the CLI printed about 1 KB of Jetty internals when the daemon died during a build
        Path socket = dir.resolve("fake.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Thread daemon = Thread.ofVirtual().start(() -> {
                try (SocketChannel client = server.accept()) {
                    client.read(ByteBuffer.allocate(64 * 1024)); // the request
                    String begun = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "d\r\nLOG step 1/1\n\r\n";
                    client.write(ByteBuffer.wrap(begun.getBytes(StandardCharsets.US_ASCII)));
                    Thread.sleep(200);
                } catch (Exception e) {
                    // the client saw what it saw
                } // closed mid-response: as a killed daemon's socket
            });
            List<String> log = new ArrayList<>();
            try (DaemonClient client = DaemonClient.connect(socket)) {
                assertThatThrownBy(() -> client.build(new BuildRequest("template: t", "/tmp", null), log::add,
                        Duration.ofSeconds(20)))
                        .isInstanceOf(TmountException.class)
                        .satisfies(e -> assertThat(e.getMessage()).contains("broke during the build")
                                .doesNotContain("org.eclipse").hasSizeLessThan(300));
            }
            daemon.join();
            assertThat(log).containsExactly("step 1/1");
        }
    }
}
