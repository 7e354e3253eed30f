package io.tmount.serve;

import io.tmount.nbd.NbdListen;
import io.tmount.nbd.NbdServer;
import io.tmount.nbd.NbdTls;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How one image is served: its NBD export name and description, where the server listens, its limits, where a
 * writable one keeps its copy-on-write overlay (none: read-only), and the TLS it offers (none: null).
 */
public record Serving(String name, String description, NbdListen listen, NbdServer.Limits limits, Path overlayDir,
                      NbdTls tls) {

    public Serving {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(listen, "listen");
        Objects.requireNonNull(limits, "limits");
    }

    public static Serving readOnly(String name, String description, NbdListen listen, NbdServer.Limits limits) {
        return new Serving(name, description, listen, limits, null, null);
    }

    public static Serving writable(String name, String description, NbdListen listen, NbdServer.Limits limits,
                                   Path overlayDir) {
        return new Serving(name, description, listen, limits, Objects.requireNonNull(overlayDir, "overlayDir"), null);
    }

    public Serving withTls(NbdTls value) {
        return new Serving(name, description, listen, limits, overlayDir, value);
    }

    public boolean readOnly() {
        return overlayDir == null;
    }
}
