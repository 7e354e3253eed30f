package io.tmount.serve;

import io.tmount.nbd.NbdListen;
import io.tmount.nbd.NbdServer;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How one image is served: its NBD export name and description, where the server listens, its limits, and where a
 * writable one keeps its copy-on-write overlay (none: read-only).
 */
public record Serving(String name, String description, NbdListen listen, NbdServer.Limits limits, Path overlayDir) {

    public Serving {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(limits, "limits");
    }

    public static Serving readOnly(String name, String description, NbdListen listen, NbdServer.Limits limits) {
        return new Serving(name, description, listen, limits, null);
    }

    public static Serving writable(String name, String description, NbdListen listen, NbdServer.Limits limits,
                                   Path overlayDir) {
        return new Serving(name, description, listen, limits, Objects.requireNonNull(overlayDir, "overlayDir"));
    }

    public boolean readOnly() {
        return overlayDir == null;
    }
}
