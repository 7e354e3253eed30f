package io.tmount.serve;

import io.tmount.image.Overlay;
import io.tmount.nbd.NbdEndpoint;
import io.tmount.nbd.NbdServer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * An image being served: its NBD server and, when writable, its overlay. Closing stops the server first, then
 * closes the overlay and the image below it (never the shared chunk caches).
 */
public final class Served implements AutoCloseable {

    private final NbdServer server;
    private final Overlay overlay;
    private final List<AutoCloseable> below;

    Served(NbdServer server, Overlay overlay, List<AutoCloseable> below) {
        this.server = server;
        this.overlay = overlay;
        this.below = List.copyOf(below);
    }

    public NbdEndpoint endpoint() {
        return server.endpoint();
    }

    /** The overlay of a writable image; null when read-only. */
    public Overlay overlay() {
        return overlay;
    }

    @Override
    public void close() throws IOException {
        List<AutoCloseable> parts = new ArrayList<>();
        parts.add(server);
        parts.addAll(below);
        ServedImages.closeAll(parts);
    }
}
