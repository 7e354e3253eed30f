package io.tmount.image;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What {@link LocalAccess#transferTo} sends through a real unix socket, sent from a virtual thread (as the NBD server
 * does) to a reader that starts late, so the socket fills up and sendfile finds no room.
 */
final class SocketCapture {

    private SocketCapture() {
    }

    static byte[] transfer(BlockImage image, long offset, int length, Path dir) throws Exception {
        Path socket = dir.resolve("capture-" + System.nanoTime() + ".sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(socket));
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                 SocketChannel accepted = server.accept()) {
                CompletableFuture<Void> sent = new CompletableFuture<>();
                Thread.ofVirtual().start(() -> {
                    try {
                        LocalAccess.transfer(image, offset, length, accepted);
                        sent.complete(null);
                    } catch (Throwable e) {
                        sent.completeExceptionally(e);
                        try {
                            accepted.close(); // the reader sees the end instead of waiting for the rest
                        } catch (IOException ignored) {
                            // closing is all it can do
                        }
                    }
                });
                Thread.sleep(200); // the sender fills the socket and has to wait for room
                ByteBuffer got = ByteBuffer.allocate(length);
                while (got.hasRemaining()) {
                    if (client.read(got) < 0) {
                        break;
                    }
                }
                sent.get(10, TimeUnit.SECONDS);
                return got.array();
            }
        }
    }
}
