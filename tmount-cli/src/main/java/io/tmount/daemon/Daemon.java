package io.tmount.daemon;

import io.tmount.TmountException;
import io.tmount.host.TmountHost;
import io.tmount.json.TmountJson;
import io.tmount.mount.MountManager;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ContextHandler;
import org.eclipse.jetty.server.handler.ContextHandlerCollection;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

/**
 * The long-running tmount daemon: owns a {@link TmountHost} (so the mounts' NBD servers live in this process)
 * and serves the HTTP/JSON API on a unix socket that only root can reach (mode 0600 in a 0700 folder), or root and
 * one group (0660 and 0750, that group's); every request's peer credentials are checked too ({@link ApiPeers}).
 */
public final class Daemon implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Daemon.class);

    private final TmountHost host;
    private final Server server;
    private final Path socket;
    private boolean closed;

    /** The API connections open right now (for tests of the connection limit). */
    int apiConnections() {
        return java.util.Arrays.stream(server.getConnectors())
                .mapToInt(c -> c.getConnectedEndPoints().size()).sum();
    }

    private Daemon(TmountHost host, Server server, Path socket) {
        this.host = host;
        this.server = server;
        this.socket = socket;
    }

    /** Clients of the API at once: CLIs and orchestrators, each with a request or two in flight. */
    static final int MAX_API_CONNECTIONS = 256;

    /** How long a build's log may stay quiet before the daemon sends a WAIT line. */
    public static final Duration DEFAULT_BUILD_HEARTBEAT = BuildEndpoint.DEFAULT_HEARTBEAT;

    /** Where build roots are mounted while builds run, unless configured otherwise. */
    public static final Path DEFAULT_BUILDS_DIR = Path.of("/var/tmp/tmount-builds");

    /** Starts serving the host's API on the socket. The daemon takes ownership of the host. */
    public static Daemon start(TmountHost host, Path socket, String version, String stateDir) {
        return start(host, socket, version, stateDir, DEFAULT_BUILD_HEARTBEAT, null);
    }

    /** {@code buildHeartbeat}: how long a build's log may stay quiet before the daemon sends a WAIT line. */
    public static Daemon start(TmountHost host, Path socket, String version, String stateDir,
                               Duration buildHeartbeat) {
        return start(host, socket, version, stateDir, buildHeartbeat, null);
    }

    /**
     * {@code buildHeartbeat}: how long a build's log may stay quiet before the daemon sends a WAIT line;
     * {@code apiGroup}: the group whose members may use the API besides root (null: root only).
     */
    public static Daemon start(TmountHost host, Path socket, String version, String stateDir,
                               Duration buildHeartbeat, String apiGroup) {
        return start(host, socket, version, stateDir, buildHeartbeat, apiGroup, null);
    }

    /** The same, also serving the metrics (and only them) over HTTP on {@code metricsListen} (null: not). */
    public static Daemon start(TmountHost host, Path socket, String version, String stateDir,
                               Duration buildHeartbeat, String apiGroup, InetSocketAddress metricsListen) {
        try {
            GroupPrincipal group = apiGroup == null ? null : socket.getFileSystem().getUserPrincipalLookupService()
                    .lookupPrincipalByGroupName(apiGroup);
            prepareSocket(socket, group);
            Server server = new Server();
            UnixDomainServerConnector connector = new UnixDomainServerConnector(server);
            connector.setUnixDomainPath(socket);
            server.addConnector(connector);
            // past this many open connections the daemon stops accepting (they wait in the backlog) instead of
            // spending descriptors its mounts' I/O needs
            server.addBean(new NetworkConnectionLimit(MAX_API_CONNECTIONS, connector));
            server.setHandler(new ApiHandler(host, TmountJson.newMapper(), version, stateDir, buildHeartbeat,
                    new ApiPeers(apiGroup, Path.of("/etc/group"))));
            if (metricsListen != null) {
                ServerConnector scrape = new ServerConnector(server);
                scrape.setHost(metricsListen.getHostString());
                scrape.setPort(metricsListen.getPort());
                scrape.setName("metrics");
                server.addBean(new NetworkConnectionLimit(16, scrape)); // scrapers are few
                server.addConnector(scrape);
                ContextHandler api = new ContextHandler(server.getHandler(), "/");
                api.setVirtualHosts(List.of("@" + "api"));
                connector.setName("api");
                ContextHandler only = new ContextHandler(new MetricsText(host.metrics().registry()), "/");
                only.setVirtualHosts(List.of("@metrics"));
                server.setHandler(new ContextHandlerCollection(api, only));
            }
            server.start();
            if (metricsListen != null) {
                log.info("metrics on http://{}:{}/metrics", metricsListen.getHostString(),
                        ((ServerConnector) server.getConnectors()[1]).getLocalPort());
            }
            if (group == null) {
                Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            } else {
                Files.setAttribute(socket, "posix:group", group);
                Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
            }
            log.info("tmount daemon listening on {} (state dir {}, store {})", socket, stateDir, host.store().url());
            return new Daemon(host, server, socket);
        } catch (Exception e) {
            host.close();
            throw e instanceof TmountException te ? te : TmountException.failed(e, "cannot start the daemon on %s", socket);
        }
    }

    /** Refuses a socket another daemon answers on; removes a stale one left by a daemon that died. */
    private static void prepareSocket(Path socket, GroupPrincipal group) throws IOException {
        Path dir = socket.getParent();
        Files.createDirectories(dir);
        if (group == null) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------")); // however it was made
        } else {
            Files.setAttribute(dir, "posix:group", group);
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-x---"));
        }
        if (Files.exists(socket)) {
            try (SocketChannel ignored = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                throw TmountException.conflict("another tmount daemon is already listening on %s", socket);
            } catch (IOException stale) {
                Files.delete(socket);
            }
        }
    }

    public Path socket() {
        return socket;
    }

    /** The TCP port the metrics are served on (see {@code --metrics-listen}), or -1. */
    public int metricsPort() {
        for (var connector : server.getConnectors()) {
            if (connector instanceof ServerConnector tcp) {
                return tcp.getLocalPort();
            }
        }
        return -1;
    }

    public MountManager manager() {
        return host.mounts();
    }

    /** Stops the API, then ends builds, stops exports and unmounts everything. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        log.info("tmount daemon stopping: unmounting {} mount(s)", host.mounts().listMounts().size());
        try {
            server.stop();
        } catch (Exception e) {
            log.warn("cannot stop the API server: {}", e.getMessage());
        }
        try {
            host.close();
        } finally {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                log.warn("cannot remove {}: {}", socket, e.getMessage());
            }
        }
        log.info("tmount daemon stopped");
    }
}
