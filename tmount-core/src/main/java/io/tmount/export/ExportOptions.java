package io.tmount.export;

import io.tmount.TmountException;
import io.tmount.nbd.NbdListen;
import io.tmount.nbd.NbdServer;
import io.tmount.nbd.NbdTls;

/**
 * How to export: where the NBD server listens (a unix socket, or loopback TCP unless forced), whether clients may
 * write (into a copy-on-write overlay: the build or file never changes), the export name (null: the build id, or
 * the file's name), how many clients may be connected at once (0: the server's default), and the TLS the server
 * offers or requires (null: none).
 */
public record ExportOptions(NbdListen listen, boolean readOnly, String name, int maxConnections, NbdTls tls) {

    /** The most connections an operator may allow one export: each costs a descriptor and a thread. */
    public static final int MAX_CONNECTIONS_LIMIT = 4096;

    public ExportOptions {
        if (maxConnections < 0 || maxConnections > MAX_CONNECTIONS_LIMIT) {
            throw TmountException.invalid("max connections must be between 1 and %d (0: the default, %d), not %d",
                    MAX_CONNECTIONS_LIMIT, NbdServer.Limits.DEFAULT.maxConnections(), maxConnections);
        }
    }

    public ExportOptions(NbdListen listen, boolean readOnly, String name) {
        this(listen, readOnly, name, 0, null);
    }

    public ExportOptions(NbdListen listen, boolean readOnly, String name, int maxConnections) {
        this(listen, readOnly, name, maxConnections, null);
    }

    NbdServer.Limits limits() {
        NbdServer.Limits defaults = NbdServer.Limits.DEFAULT;
        return maxConnections == 0 ? defaults : defaults.withConnections(maxConnections, defaults.handshakeTimeout());
    }
}
