package io.tmount.daemon;

import io.tmount.TmountException;
import io.tmount.export.ExportSource;
import io.tmount.nbd.NbdListen;
import io.tmount.nbd.NbdTls;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.net.InetSocketAddress;
import java.nio.file.Path;

/** Turns the parts of an export request (from the API or the command line) into a source and a listener. */
public final class ExportRequests {

    private ExportRequests() {
    }

    /** A build (template and build) or a raw image file: exactly one of the two. */
    public static ExportSource source(String template, String build, String image) {
        boolean isBuild = template != null || build != null;
        if (isBuild == (image != null)) {
            throw TmountException.invalid("export either a build (TEMPLATE BUILD) or an image file (--image FILE)");
        }
        if (image != null) {
            Path file = Path.of(image);
            if (!file.isAbsolute()) {
                throw TmountException.invalid("image path '%s' must be absolute", image);
            }
            return new ExportSource.RawFile(file);
        }
        if (template == null || build == null) {
            throw TmountException.invalid("exporting a build needs both TEMPLATE and BUILD");
        }
        return new ExportSource.Build(TemplateId.of(template), BuildId.of(build));
    }

    /**
     * The TLS an export offers: none without a certificate; {@code mode} "on" (the default: offered) or "require";
     * a CA and peer verification to admit only clients with a certificate of that CA.
     */
    public static NbdTls tls(String mode, String cert, String key, String ca, boolean verifyPeer) {
        if (cert == null && key == null) {
            if (mode != null && !mode.equals("off") || ca != null || verifyPeer) {
                throw TmountException.invalid("TLS needs a certificate and its key (--tls-cert FILE --tls-key FILE)");
            }
            return null;
        }
        if (cert == null || key == null) {
            throw TmountException.invalid("TLS needs both --tls-cert and --tls-key");
        }
        boolean required = switch (mode == null ? "on" : mode) {
            case "on" -> false;
            case "require" -> true;
            default -> throw TmountException.invalid("--tls takes on or require, not '%s'", mode);
        };
        for (String file : new String[]{cert, key, ca}) {
            if (file != null && !Path.of(file).isAbsolute()) {
                throw TmountException.invalid("TLS file path '%s' must be absolute", file);
            }
        }
        return NbdTls.fromPem(Path.of(cert), Path.of(key), ca == null ? null : Path.of(ca), verifyPeer, required);
    }

    /** A unix socket (absolute path) or a TCP address HOST:PORT ([v6]:PORT): exactly one of the two. */
    public static NbdListen listen(String socket, String tcp, boolean allowRemote) {
        if ((socket == null) == (tcp == null)) {
            throw TmountException.invalid("export on either a unix socket (--socket PATH) or TCP (--tcp HOST:PORT)");
        }
        if (socket != null) {
            Path path = Path.of(socket);
            if (!path.isAbsolute()) {
                throw TmountException.invalid("socket path '%s' must be absolute", socket);
            }
            return NbdListen.unix(path);
        }
        int colon = tcp.lastIndexOf(':');
        if (colon <= 0 || colon == tcp.length() - 1) {
            throw TmountException.invalid("TCP address '%s' must be HOST:PORT", tcp);
        }
        String host = tcp.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(tcp.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw TmountException.invalid("TCP port in '%s' is not a number", tcp);
        }
        if (port < 0 || port > 65535) {
            throw TmountException.invalid("TCP port %d is out of range", port);
        }
        return NbdListen.tcp(new InetSocketAddress(host, port), allowRemote);
    }
}
