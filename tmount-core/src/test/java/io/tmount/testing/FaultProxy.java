package io.tmount.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy on loopback in front of a real server, playing a bad network: it can hold back the first bytes of
 * every response (a slow server), cut the connection midway through the next response (a reset mid-body), and pass
 * requests on at a limited rate (a slow uplink), answer requests with an error status itself (throttling or 5xx
 * bursts), and refuse connections (a server that is down).
 */
public final class FaultProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final int targetPort;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile Duration delay;
    private final AtomicLong cutAfter = new AtomicLong(-1);
    private final AtomicLong cuts = new AtomicLong();
    private volatile long requestBytesPerSecond;
    private final AtomicLong failNext = new AtomicLong();
    private volatile String failStatus = "503 Slow Down";
    private final AtomicLong failed = new AtomicLong();
    private volatile boolean down;

    public FaultProxy(int targetPort, Duration delay) throws IOException {
        this.listener = new ServerSocket();
        listener.setReceiveBufferSize(64 * 1024); // a slowed request backs up to its sender instead of piling up here
        listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        this.targetPort = targetPort;
        this.delay = delay;
        Thread.ofVirtual().name("delay-proxy").start(this::accept);
    }

    public void delay(Duration value) {
        this.delay = value;
    }

    /** The next response that passes more than {@code bytes} is cut off there: its connection is closed. */
    public void cutNextResponseAfter(long bytes) {
        cutAfter.set(bytes);
    }

    /** How many responses were cut off so far. */
    public long cuts() {
        return cuts.get();
    }

    /** Requests (bodies included) pass at most this fast; 0 for no limit. */
    public void limitRequests(long bytesPerSecond) {
        this.requestBytesPerSecond = bytesPerSecond;
    }

    /**
     * The next {@code count} requests get {@code status} (such as "503 Slow Down") from the proxy itself, on fresh
     * connections: open ones are reset now, so pooled connections cannot slip past.
     */
    public void failNext(long count, String status) {
        failStatus = status;
        failNext.set(count);
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
    }

    /**
     * A store that is down (or not): every connection, open or new, is closed at once without an answer, as a host
     * whose service stopped resets them.
     */
    public void down(boolean value) {
        down = value;
        if (value) {
            for (Socket socket : sockets) {
                closeQuietly(socket);
            }
        }
    }

    /** How many requests the proxy answered with an error itself. */
    public long failed() {
        return failed.get();
    }

    /** Connections open through the proxy right now (both sides count once). */
    public int openConnections() {
        return sockets.size() / 2;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + listener.getLocalPort());
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                if (down) {
                    client.setSoLinger(true, 0); // a reset, as from a host with nothing listening
                    closeQuietly(client);
                    continue;
                }
                if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                    Thread.ofVirtual().start(() -> answerWithError(client));
                    continue;
                }
                Socket server;
                try {
                    server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
                } catch (IOException targetDown) {
                    closeQuietly(client); // the server behind is down: so is this connection, not the proxy
                    continue;
                }
                sockets.add(client);
                sockets.add(server);
                RequestFlag flag = new RequestFlag();
                Thread.ofVirtual().start(() -> pump(client, server, flag, false));
                Thread.ofVirtual().start(() -> pump(server, client, flag, true));
            } catch (IOException e) {
                return;
            }
        }
    }

    /** Reads the request's head and answers it with the error status, closing the connection. */
    private void answerWithError(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            int matched = 0;
            byte[] end = {'\r', '\n', '\r', '\n'};
            for (int b; matched < 4 && (b = in.read()) >= 0; ) {
                matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
            }
            String body = "<Error><Code>SlowDown</Code><Message>injected by the fault proxy</Message></Error>";
            client.getOutputStream().write(("HTTP/1.1 " + failStatus + "\r\nContent-Type: application/xml\r\n"
                    + "Content-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body)
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            failed.incrementAndGet();
        } catch (IOException ignored) {
            // the client gave up first
        }
    }

    /** Set when the client sent a request; the next response bytes wait for the delay. */
    private static final class RequestFlag {
        volatile boolean pending;
    }

    private void pump(Socket from, Socket to, RequestFlag flag, boolean response) {
        byte[] buffer = new byte[64 * 1024];
        long responseBytes = 0;
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer, 0, response || requestBytesPerSecond == 0 ? buffer.length : 8192)) >= 0) {
                if (!response) {
                    flag.pending = true;
                    long limit = requestBytesPerSecond;
                    if (limit > 0) {
                        Thread.sleep(n * 1000L / limit);
                    }
                } else if (flag.pending) {
                    flag.pending = false; // a new response begins
                    responseBytes = 0;
                    Thread.sleep(delay.toMillis());
                }
                if (response) {
                    long cut = cutAfter.get();
                    if (cut >= 0 && responseBytes + n > cut && cutAfter.compareAndSet(cut, -1)) {
                        out.write(buffer, 0, (int) Math.max(0, cut - responseBytes));
                        out.flush();
                        to.setSoLinger(true, 0); // a reset, as when a server or a middlebox drops the connection
                        cuts.incrementAndGet();
                        return;
                    }
                    responseBytes += n;
                }
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // one side went away: the other is closed below
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private void closeQuietly(Socket socket) {
        sockets.remove(socket);
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        for (Socket socket : sockets) {
            closeQuietly(socket);
        }
    }
}
