package io.tmount.daemon;

import io.tmount.TmountException;
import io.tmount.build.BuildRunner;
import io.tmount.json.TmountJson;
import io.tmount.mount.MountManager;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;

/**
 * The long-running tmount daemon: owns a {@link MountManager} (so the mounts' NBD servers live in this process)
 * and serves the HTTP/JSON API on a unix socket that only root can reach (mode 0600 in a 0700 folder).
 */
public final class Daemon implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Daemon.class);

    private final MountManager manager;
    private final BuildRunner builds;
    private final Server server;
    private final Path socket;
    private boolean closed;

    /** The API connections open right now (for tests of the connection limit). */
    int apiConnections() {
        return java.util.Arrays.stream(server.getConnectors())
                .mapToInt(c -> c.getConnectedEndPoints().size()).sum();
    }

    private Daemon(MountManager manager, BuildRunner builds, Server server, Path socket) {
        this.manager = manager;
        this.builds = builds;
        this.server = server;
        this.socket = socket;
    }

    /** Starts serving the manager's API on the socket. The daemon takes ownership of the manager. */
    public static Daemon start(MountManager manager, Path socket, String version, String stateDir) {
        return start(manager, new BuildRunner(manager, DEFAULT_BUILDS_DIR), socket, version, stateDir);
    }

    /** How long a stopping daemon waits for builds whose steps it ended to take down their roots. */
    private static final Duration BUILD_STOP_WAIT = Duration.ofSeconds(30);

    /** Clients of the API at once: CLIs and orchestrators, each with a request or two in flight. */
    static final int MAX_API_CONNECTIONS = 256;

    /** Where build roots are mounted while builds run, unless configured otherwise. */
    public static final Path DEFAULT_BUILDS_DIR = Path.of("/var/tmp/tmount-builds");

    public static Daemon start(MountManager manager, BuildRunner builds, Path socket, String version, String stateDir) {
        return start(manager, builds, socket, version, stateDir, BuildEndpoint.DEFAULT_HEARTBEAT);
    }

    /** {@code buildHeartbeat}: how long a build's log may stay quiet before the daemon sends a WAIT line. */
    public static Daemon start(MountManager manager, BuildRunner builds, Path socket, String version, String stateDir,
                               Duration buildHeartbeat) {
        try {
            prepareSocket(socket);
            Server server = new Server();
            UnixDomainServerConnector connector = new UnixDomainServerConnector(server);
            connector.setUnixDomainPath(socket);
            server.addConnector(connector);
            // past this many open connections the daemon stops accepting (they wait in the backlog) instead of
            // spending descriptors its mounts' I/O needs
            server.addBean(new NetworkConnectionLimit(MAX_API_CONNECTIONS, connector));
            server.setHandler(new ApiHandler(manager, builds, TmountJson.newMapper(), version, stateDir,
                    buildHeartbeat));
            server.start();
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
            log.info("tmount daemon listening on {} (state dir {}, store {})", socket, stateDir, manager.store().url());
            return new Daemon(manager, builds, server, socket);
        } catch (Exception e) {
            manager.close();
            throw e instanceof TmountException te ? te : TmountException.failed(e, "cannot start the daemon on %s", socket);
        }
    }

    /** Refuses a socket another daemon answers on; removes a stale one left by a daemon that died. */
    private static void prepareSocket(Path socket) throws IOException {
        Path dir = socket.getParent();
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------")); // however it was made
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

    public MountManager manager() {
        return manager;
    }

    /** Stops the API, then unmounts everything. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        log.info("tmount daemon stopping: unmounting {} mount(s)", manager.listMounts().size());
        try {
            server.stop();
        } catch (Exception e) {
            log.warn("cannot stop the API server: {}", e.getMessage());
        }
        // a RUN step would outlive the daemon, holding its build root and device: end the builds first
        if (!builds.stop(BUILD_STOP_WAIT)) {
            log.warn("builds did not end within {} s; unmounting under them", BUILD_STOP_WAIT.toSeconds());
        }
        try {
            manager.close();
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
