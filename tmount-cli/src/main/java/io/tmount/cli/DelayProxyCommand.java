package io.tmount.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * A TCP proxy on loopback that holds back the first bytes of every response by a delay: a store a region away, for the
 * S3 benchmark (this host's kernel has no netem). A request is noticed when the client sends bytes; the next bytes
 * the server sends wait. Prints the port it listens on, then runs until killed.
 */
@Command(name = "delay-proxy", hidden = true,
        description = "Benchmark helper: a loopback TCP proxy that delays each response by --delay; prints its port.")
final class DelayProxyCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Option(names = "--to", required = true, paramLabel = "PORT", description = "The loopback port to forward to.")
    int target;

    @Option(names = "--delay", defaultValue = "20", paramLabel = "MS", description = "Milliseconds per response.")
    long delayMillis;

    @Override
    public Integer call() throws IOException {
        Duration delay = Duration.ofMillis(delayMillis);
        try (ServerSocket listener = new ServerSocket()) {
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
            System.out.println(listener.getLocalPort());
            System.out.flush();
            while (true) {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), target);
                java.util.concurrent.atomic.AtomicBoolean pending = new java.util.concurrent.atomic.AtomicBoolean();
                Thread.ofVirtual().start(() -> pump(client, server, pending, null));
                Thread.ofVirtual().start(() -> pump(server, client, pending, delay));
            }
        }
    }

    /** Copies one direction; the response direction ({@code delay} set) waits before the first bytes of each. */
    private static void pump(Socket from, Socket to, java.util.concurrent.atomic.AtomicBoolean pending,
                             Duration delay) {
        byte[] buffer = new byte[256 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                if (delay == null) {
                    pending.set(true);
                } else if (pending.getAndSet(false)) {
                    Thread.sleep(delay);
                }
                out.write(buffer, 0, n);
            }
        } catch (IOException | InterruptedException e) {
            // one side went away
        } finally {
            try {
                from.close();
                to.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
