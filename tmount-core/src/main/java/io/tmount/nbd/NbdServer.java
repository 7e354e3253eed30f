package io.tmount.nbd;

import io.tmount.TmountException;
import io.tmount.os.SocketBuffers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * tmount's NBD server: fixed newstyle negotiation, simple and structured replies, the base:allocation metadata
 * context, READ/WRITE/FLUSH/TRIM/WRITE_ZEROES/CACHE/BLOCK_STATUS/DISC with FUA,
 * any number of connections per export (multi-conn is safe: every connection works on the same image, and FLUSH
 * flushes the image). Each connection runs on a virtual thread. Knows nothing of templates or mounts.
 */
public final class NbdServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(NbdServer.class);
    /** Idle payload buffers a server keeps for reuse, all sizes together: a busy export reuses, an idle one is small. */
    private static final long RETAINED_BUFFER_BYTES = 32L << 20;
    private static final int SEND_BUFFER_BYTES = 1 << 20;

    /**
     * Limits of one server; the defaults follow the NBD spec's advice (payloads up to 32 MiB are normal) and qemu-nbd's
     * practice (a handshake must finish within 10 s). A connection over {@code maxConnections} is closed at once, so a
     * client opening connections without end costs the daemon no more than that many descriptors per server. A write
     * whose payload stops arriving for {@code payloadTimeout} ends its connection: the memory it holds goes back.
     */
    public record Limits(int maxPayload, int inFlightBytes, int maxConnections, Duration handshakeTimeout,
                         Duration payloadTimeout) {
        public static final Limits DEFAULT = new Limits(32 << 20, 128 << 20, 64, Duration.ofSeconds(10),
                Duration.ofSeconds(30));

        public Limits {
            if (maxPayload < 4096 || Integer.bitCount(maxPayload) != 1) {
                throw new IllegalArgumentException("maxPayload (" + maxPayload + ") must be a power of two >= 4096");
            }
            if (inFlightBytes < maxPayload) {
                throw new IllegalArgumentException("inFlightBytes (" + inFlightBytes + ") must be >= maxPayload");
            }
            if (maxConnections < 1) {
                throw new IllegalArgumentException("maxConnections (" + maxConnections + ") must be >= 1");
            }
            if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
                throw new IllegalArgumentException("handshakeTimeout (" + handshakeTimeout + ") must be positive");
            }
            if (payloadTimeout.isNegative() || payloadTimeout.isZero()) {
                throw new IllegalArgumentException("payloadTimeout (" + payloadTimeout + ") must be positive");
            }
        }

        public Limits(int maxPayload, int inFlightBytes) {
            this(maxPayload, inFlightBytes, DEFAULT.maxConnections, DEFAULT.handshakeTimeout, DEFAULT.payloadTimeout);
        }

        public Limits(int maxPayload, int inFlightBytes, int maxConnections, Duration handshakeTimeout) {
            this(maxPayload, inFlightBytes, maxConnections, handshakeTimeout, DEFAULT.payloadTimeout);
        }

        public Limits withConnections(int maxConnections, Duration handshakeTimeout) {
            return new Limits(maxPayload, inFlightBytes, maxConnections, handshakeTimeout, payloadTimeout);
        }

        public Limits withPayloadTimeout(Duration value) {
            return new Limits(maxPayload, inFlightBytes, maxConnections, handshakeTimeout, value);
        }
    }

    private final ServerSocketChannel listener;
    private final NbdListen listen;
    private final Map<String, NbdExport> exports;
    private final Limits limits;
    private final NbdTls tls;
    private final BufferPool buffers;
    private final Allowance allowance;
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final Map<SocketChannel, Transmission> transmitting = new ConcurrentHashMap<>();
    private final Set<Thread> connectionThreads = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private final Thread payloadWatch;
    private volatile boolean closed;
    private boolean overCap; // the acceptor's: warn once per run of refused connections
    private volatile boolean sendBufferCapped;

    private NbdServer(ServerSocketChannel listener, NbdListen listen, Map<String, NbdExport> exports, Limits limits,
                      PayloadBudget shared, NbdTls tls) {
        this.listener = listener;
        this.tls = tls;
        this.listen = listen;
        this.exports = exports;
        this.limits = limits;
        this.buffers = new BufferPool(limits.maxPayload(), RETAINED_BUFFER_BYTES);
        this.allowance = new Allowance(new PayloadBudget(limits.inFlightBytes()), shared);
        this.acceptor = Thread.ofVirtual().name("nbd-accept").unstarted(this::acceptLoop);
        this.payloadWatch = Thread.ofVirtual().name("nbd-payload-deadline").unstarted(this::watchPayloads);
    }

    /** Starts serving the exports with a payload budget of its own (nothing shared with other servers). */
    public static NbdServer start(NbdListen listen, List<NbdExport> exports, Limits limits) throws IOException {
        return start(listen, exports, limits, new PayloadBudget(limits.inFlightBytes()));
    }

    /**
     * Starts serving the exports (the first is the default export) on a unix socket (mode 0600) or TCP address; its
     * requests' payloads also count against {@code shared}, the budget of the servers of its kind in this process.
     */
    public static NbdServer start(NbdListen listen, List<NbdExport> exports, Limits limits, PayloadBudget shared)
            throws IOException {
        return start(listen, exports, limits, shared, null);
    }

    /** As {@link #start(NbdListen, List, Limits, PayloadBudget)}, offering TLS ({@code tls}; null: none). */
    public static NbdServer start(NbdListen listen, List<NbdExport> exports, Limits limits, PayloadBudget shared,
                                  NbdTls tls) throws IOException {
        if (exports.isEmpty()) {
            throw new IllegalArgumentException("an NBD server needs at least one export");
        }
        Map<String, NbdExport> byName = new LinkedHashMap<>();
        for (NbdExport export : exports) {
            if (byName.putIfAbsent(export.name(), export) != null) {
                throw new IllegalArgumentException("duplicate export name '" + export.name() + "'");
            }
        }
        ServerSocketChannel listener = switch (listen) {
            case NbdListen.Unix unix -> bindUnix(unix.socket());
            case NbdListen.Tcp tcp -> {
                ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.INET);
                channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
                channel.bind(tcp.address(), 128);
                yield channel;
            }
        };
        NbdServer server = new NbdServer(listener, listen, Collections.unmodifiableMap(byName), limits, shared, tls);
        server.acceptor.start();
        server.payloadWatch.start();
        return server;
    }

    public static NbdServer start(NbdListen listen, NbdExport export) throws IOException {
        return start(listen, List.of(export), Limits.DEFAULT);
    }

    private static ServerSocketChannel bindUnix(Path socket) throws IOException {
        Files.createDirectories(socket.getParent());
        Files.deleteIfExists(socket); // a stale socket of a dead server; callers own the path
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.bind(UnixDomainSocketAddress.of(socket), 128);
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        return channel;
    }

    /** The endpoint of one export. */
    public NbdEndpoint endpoint(String exportName) {
        if (!exports.containsKey(exportName)) {
            throw new IllegalArgumentException("no export '" + exportName + "'");
        }
        return switch (listen) {
            case NbdListen.Unix unix -> NbdEndpoint.unix(unix.socket(), exportName);
            case NbdListen.Tcp tcp -> NbdEndpoint.tcp(boundAddress(), exportName);
        };
    }

    /** The endpoint of the default (first) export. */
    public NbdEndpoint endpoint() {
        return endpoint(exports.keySet().iterator().next());
    }

    private InetSocketAddress boundAddress() {
        try {
            return (InetSocketAddress) listener.getLocalAddress();
        } catch (IOException e) {
            throw TmountException.failed(e, "NBD server is closed");
        }
    }

    public int connectionCount() {
        return connections.size();
    }

    private void acceptLoop() {
        while (!closed) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (closed) {
                    return;
                }
                log.warn("NBD accept failed (retrying): {}", e.toString()); // e.g. out of file descriptors
                try {
                    Thread.sleep(100);
                } catch (InterruptedException interrupted) {
                    return;
                }
                continue;
            }
            if (connections.size() >= limits.maxConnections()) {
                refuse(channel);
                continue;
            }
            overCap = false;
            connections.add(channel);
            Thread thread = Thread.ofVirtual().name("nbd-conn").unstarted(() -> serve(channel));
            connectionThreads.add(thread);
            thread.start();
        }
    }

    private void serve(SocketChannel channel) {
        try (channel) {
            if (listen instanceof NbdListen.Tcp) {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            } else {
                // room for a whole large read in flight: sendfile then rarely finds the socket full, whatever the
                // host's net.core.wmem_max (forced where the daemon may); TCP sizes its own buffers
                int granted = SocketBuffers.setSendBuffer(channel, SEND_BUFFER_BYTES);
                if (granted < SEND_BUFFER_BYTES && !sendBufferCapped) {
                    sendBufferCapped = true; // said once per server
                    log.info("unix socket send buffer capped at {} bytes by net.core.wmem_max (wanted {}): large reads "
                            + "slow down; run the daemon as root with --add-exports=java.base/sun.nio.ch=ALL-UNNAMED "
                            + "(as ./tmount does), or raise net.core.wmem_max", granted, SEND_BUFFER_BYTES);
                }
            }
            var chosen = negotiateInTime(channel);
            if (chosen.isPresent()) {
                log.info("NBD client {} attached to export '{}'{}", peer(channel), chosen.get().export().name(),
                        chosen.get().tls() ? " over TLS" : "");
                Transmission transmission = new Transmission(channel, chosen.get(), buffers, allowance,
                        limits.maxPayload());
                transmitting.put(channel, transmission);
                transmission.run();
            }
        } catch (IOException e) {
            log.debug("NBD connection ended: {}", e.toString());
        } catch (RuntimeException e) {
            log.error("NBD connection failed", e);
        } finally {
            transmitting.remove(channel);
            connections.remove(channel);
            connectionThreads.remove(Thread.currentThread());
        }
    }

    /**
     * Runs the handshake under a deadline: a client that connects and then stalls (or trickles bytes) is cut off,
     * so idle connections cannot hold the server's connection slots.
     */
    private java.util.Optional<Session> negotiateInTime(SocketChannel channel) throws IOException {
        AtomicBoolean decided = new AtomicBoolean(); // negotiation finished, or the deadline closed the connection
        Thread watchdog = Thread.ofVirtual().name("nbd-handshake-deadline").start(() -> {
            try {
                Thread.sleep(limits.handshakeTimeout());
            } catch (InterruptedException negotiated) {
                return;
            }
            if (decided.compareAndSet(false, true)) {
                log.debug("NBD client did not finish its handshake within {} s; closing",
                        limits.handshakeTimeout().toSeconds());
                closeQuietly(channel);
            }
        });
        try {
            var chosen = new Negotiation(channel, tls, exports, limits.maxPayload()).run();
            if (!decided.compareAndSet(false, true)) {
                throw new IOException("handshake deadline passed");
            }
            return chosen;
        } finally {
            watchdog.interrupt(); // also when the handshake failed: no watchdog outlives its connection
        }
    }

    /**
     * Ends connections whose write payload stopped arriving for the payload timeout: such a client holds its share of
     * the payload budget (up to 32 MiB a connection) for as long as it likes otherwise.
     */
    private void watchPayloads() {
        long timeout = limits.payloadTimeout().toNanos();
        Duration tick = Duration.ofNanos(Math.max(Duration.ofMillis(50).toNanos(), Math.min(timeout / 4,
                Duration.ofSeconds(1).toNanos())));
        while (!closed) {
            try {
                Thread.sleep(tick);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            transmitting.forEach((channel, transmission) -> {
                if (transmission.payloadStalledNanos(now) > timeout) {
                    log.warn("NBD client of export '{}' sent no byte of a write's payload for {} s; closing the "
                            + "connection", transmission.exportName(), limits.payloadTimeout().toSeconds());
                    closeQuietly(channel);
                }
            });
        }
    }

    /** The client's address for the log: TCP's peer, or the unix socket (its peers have no address). */
    private String peer(SocketChannel channel) {
        try {
            java.net.SocketAddress remote = channel.getRemoteAddress();
            return remote instanceof java.net.InetSocketAddress inet ? inet.getAddress().getHostAddress() + ":"
                    + inet.getPort() : "on " + listen;
        } catch (IOException e) {
            return "(gone)";
        }
    }

    private void refuse(SocketChannel channel) {
        if (!overCap) {
            overCap = true;
            log.warn("NBD server at {} has {} connections, its limit; refusing more until some close",
                    listen, limits.maxConnections());
        }
        closeQuietly(channel);
    }

    /** Stops accepting, disconnects every client after its outstanding requests, and removes the socket file. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        listener.close();
        payloadWatch.interrupt();
        try {
            acceptor.join();
            payloadWatch.join();
            for (SocketChannel channel : connections) {
                closeQuietly(channel);
            }
            for (Thread thread : Set.copyOf(connectionThreads)) {
                thread.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            buffers.close(); // its memory goes back now; a request still running frees its buffer when done
            if (listen instanceof NbdListen.Unix unix) {
                Files.deleteIfExists(unix.socket());
            }
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing is best effort; the peer sees the connection end either way
        }
    }
}
