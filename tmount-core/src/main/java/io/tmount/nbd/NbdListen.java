package io.tmount.nbd;

import io.tmount.TmountException;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Where an NBD server listens. TCP is loopback-only unless forced: NBD has no authentication here. */
public sealed interface NbdListen {

    /** Linux's limit for a unix socket path (sun_path, 108 bytes with the terminating NUL). */
    int MAX_SOCKET_PATH_BYTES = 107;

    record Unix(Path socket) implements NbdListen {
        public Unix {
            int length = socket.toString().getBytes(StandardCharsets.UTF_8).length;
            if (length > MAX_SOCKET_PATH_BYTES) {
                throw TmountException.invalid("unix socket path '%s' is %d bytes long; Linux allows at most %d",
                        socket, length, MAX_SOCKET_PATH_BYTES);
            }
        }

        @Override
        public String toString() {
            return "unix:" + socket;
        }
    }

    record Tcp(InetSocketAddress address) implements NbdListen {
        @Override
        public String toString() {
            return "tcp:" + address.getHostString() + ":" + address.getPort();
        }
    }

    static NbdListen unix(Path socket) {
        return new Unix(socket);
    }

    /** A TCP listener; refuses a non-loopback address unless {@code allowNonLoopback}. */
    static NbdListen tcp(InetSocketAddress address, boolean allowNonLoopback) {
        if (address.isUnresolved()) {
            throw TmountException.invalid("TCP address '%s' cannot be resolved", address.getHostString());
        }
        if (!allowNonLoopback && !address.getAddress().isLoopbackAddress()) {
            throw TmountException.invalid(
                    "refusing to serve NBD on %s: only loopback addresses (127.0.0.0/8, ::1) unless forced",
                    address.getAddress().getHostAddress());
        }
        return new Tcp(address);
    }
}
