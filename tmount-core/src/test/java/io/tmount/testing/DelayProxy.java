package io.tmount.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy on loopback that holds back the first bytes of every response by a settable delay: a slow server,
 * in front of a real one.
 */
public final class DelayProxy implements AutoCloseable {

    private final ServerSocket listener;
    private final int targetPort;
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private volatile Duration delay;

    public DelayProxy(int targetPort, Duration delay) throws IOException {
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.targetPort = targetPort;
        this.delay = delay;
        Thread.ofVirtual().name("delay-proxy").start(this::accept);
    }

    public void delay(Duration value) {
        this.delay = value;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + listener.getLocalPort());
    }

    private void accept() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), targetPort);
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

    /** Set when the client sent a request; the next response bytes wait for the delay. */
    private static final class RequestFlag {
        volatile boolean pending;
    }

    private void pump(Socket from, Socket to, RequestFlag flag, boolean response) {
        byte[] buffer = new byte[64 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                if (!response) {
                    flag.pending = true;
                } else if (flag.pending) {
                    flag.pending = false;
                    Thread.sleep(delay.toMillis());
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
