package io.tmount.nbd;

import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Where an NBD export is reachable: a unix socket or a TCP address, and the export's name. */
public record NbdEndpoint(Path unixSocket, InetSocketAddress tcp, String exportName) {

    public NbdEndpoint {
        if ((unixSocket == null) == (tcp == null)) {
            throw new IllegalArgumentException("an endpoint has exactly one of a unix socket and a TCP address");
        }
    }

    public static NbdEndpoint unix(Path socket, String exportName) {
        return new NbdEndpoint(socket, null, exportName);
    }

    public static NbdEndpoint tcp(InetSocketAddress address, String exportName) {
        return new NbdEndpoint(null, address, exportName);
    }

    /** The NBD URI (as understood by libnbd tools and qemu): {@code nbd+unix:///NAME?socket=PATH}. */
    public String uri() {
        String name = URLEncoder.encode(exportName, StandardCharsets.UTF_8).replace("+", "%20");
        if (unixSocket != null) {
            return "nbd+unix:///" + name + "?socket=" + unixSocket;
        }
        return "nbd://" + tcp.getHostString() + ":" + tcp.getPort() + "/" + name;
    }

    @Override
    public String toString() {
        return uri();
    }
}
