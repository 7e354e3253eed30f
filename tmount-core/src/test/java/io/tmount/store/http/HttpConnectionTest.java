package io.tmount.store.http;

import io.tmount.store.http.HttpConnection.Endpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The HTTP/1.1 client against a scripted server on loopback: real sockets, answers written byte for byte. */
class HttpConnectionTest {

    /** What the server does with one connection. */
    private interface Script {
        void run(InputStream in, OutputStream out) throws IOException, InterruptedException;
    }

    private final ServerSocket listener;
    private final AtomicInteger connections = new AtomicInteger();
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private volatile Script script;

    HttpConnectionTest() throws IOException {
        listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket socket = listener.accept();
                    accepted.add(socket);
                    connections.incrementAndGet();
                    Thread.ofVirtual().start(() -> {
                        try (socket) {
                            script.run(socket.getInputStream(), socket.getOutputStream());
                        } catch (IOException | InterruptedException e) {
                            // the client went away
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    @AfterEach
    void close() throws IOException {
        listener.close();
        for (Socket socket : accepted) {
            socket.close();
        }
    }

    private Endpoint endpoint() {
        return new Endpoint(false, "127.0.0.1", listener.getLocalPort());
    }

    private HttpConnection open() throws Exception {
        return HttpConnection.open(endpoint(), Duration.ofSeconds(5), SSLContext.getDefault());
    }

    /** Reads one request head; false at the connection's end. */
    private boolean request(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        for (int b; matched < 4; ) {
            if ((b = in.read()) < 0) {
                return false;
            }
            head.write(b);
            matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        requests.add(head.toString(StandardCharsets.ISO_8859_1));
        return true;
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private static String body(HttpConnection connection) throws IOException {
        ByteBuffer dst = ByteBuffer.allocateDirect(1 << 16);
        while (connection.readBody(dst) >= 0) {
            // reading
        }
        byte[] bytes = new byte[dst.flip().remaining()];
        dst.get(bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    @Test
    void lengthAndChunkedBodies_interimAnswers_oneKeptAliveConnection() throws Exception {
        script = (in, out) -> {
            request(in);
            write(out, "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/5\r\nContent-Length: 5\r\n\r\nhello");
            request(in);
            write(out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\nx-a: 2\r\n\r\n");
            Thread.sleep(50); // the chunks come in pieces
            write(out, "4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: t\r\n\r\n");
            while (request(in)) {
                write(out, "HTTP/1.1 204 No Content\r\n\r\n");
            }
        };
        try (HttpConnection connection = open()) {
            connection.send("GET", "/a", Map.of("Host", "h", "Range", "bytes=0-4"));
            HttpConnection.Head head = connection.readHead();
            assertThat(head.status()).isEqualTo(206);
            assertThat(head.header("Content-Range")).isEqualTo("bytes 0-4/5");
            assertThat(body(connection)).isEqualTo("hello");
            assertThat(connection.reusable()).isTrue();

            connection.send("GET", "/b", Map.of("Host", "h"));
            head = connection.readHead();
            assertThat(head.status()).isEqualTo(200);
            assertThat(head.header("x-a")).isEqualTo("1, 2");
            assertThat(body(connection)).isEqualTo("wikipedia");
            assertThat(connection.reusable()).isTrue();

            connection.send("GET", "/c", Map.of("Host", "h"));
            assertThat(connection.readHead().status()).isEqualTo(204);
            assertThat(body(connection)).isEmpty();
            assertThat(connection.reusable()).isTrue();
        }
        assertThat(connections.get()).isEqualTo(1);
        assertThat(requests.getFirst()).startsWith("GET /a HTTP/1.1\r\n").contains("Range: bytes=0-4\r\n");
    }

    @Test
    void aBodyToTheConnectionsEnd_andConnectionClose_areNotReused() throws Exception {
        script = (in, out) -> {
            request(in);
            write(out, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it");
        };
        try (HttpConnection connection = open()) {
            connection.send("GET", "/", Map.of("Host", "h"));
            assertThat(connection.readHead().status()).isEqualTo(200);
            assertThat(body(connection)).isEqualTo("all of it");
            assertThat(connection.reusable()).isFalse();
        }
    }

    @Test
    void aBodyShorterThanItsLength_isAnError_notShortData() throws Exception {
        script = (in, out) -> {
            request(in);
            write(out, "HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\n\r\n1234567");
        };
        try (HttpConnection connection = open()) {
            connection.send("GET", "/", Map.of("Host", "h"));
            connection.readHead();
            assertThatThrownBy(() -> body(connection)).isInstanceOf(EOFException.class)
                    .hasMessageContaining("3 bytes before the body's end");
            assertThat(connection.reusable()).isFalse();
        }
    }

    @Test
    void differingContentLengths_areRefused() throws Exception {
        script = (in, out) -> {
            request(in);
            write(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello!!");
        };
        try (HttpConnection connection = open()) {
            connection.send("GET", "/", Map.of("Host", "h"));
            assertThatThrownBy(connection::readHead).hasMessageContaining("invalid Content-Length: 5, 7");
        }
    }

    @Test
    void garbage_isNotTakenForAnAnswer() throws Exception {
        script = (in, out) -> {
            request(in);
            write(out, "SSH-2.0-OpenSSH_9.2\r\n\r\n");
        };
        try (HttpConnection connection = open()) {
            connection.send("GET", "/", Map.of("Host", "h"));
            assertThatThrownBy(connection::readHead).hasMessageContaining("not an HTTP/1.x response: SSH-2.0");
        }
    }

    @Test
    void aKeptAliveConnectionTheServerClosed_failsStale_aFirstRequestDoesNot() throws Exception {
        script = (in, out) -> {
            request(in);
            write(out, "HTTP/1.1 204 No Content\r\n\r\n"); // then closes, as after an idle timeout
        };
        try (HttpConnection connection = open()) {
            connection.send("GET", "/", Map.of("Host", "h"));
            assertThat(connection.readHead().status()).isEqualTo(204);
            Thread.sleep(100);
            assertThatThrownBy(() -> {
                connection.send("GET", "/", Map.of("Host", "h"));
                connection.readHead();
            }).isInstanceOf(IOException.class);
            assertThat(connection.failedStale()).isTrue();
        }
        script = (in, out) -> request(in); // no answer at all
        try (HttpConnection connection = open()) {
            connection.send("GET", "/", Map.of("Host", "h"));
            assertThatThrownBy(connection::readHead).hasMessageContaining("without an answer");
            assertThat(connection.failedStale()).isFalse();
        }
    }

    @Test
    void theWatchdog_endsARequestNothingArrivesFor_butNotOneThatTrickles() throws Exception {
        try (ConnectionPool pool = new ConnectionPool(endpoint(), SSLContext.getDefault(), Duration.ofMillis(600), 4)) {
            script = (in, out) -> {
                request(in);
                Thread.sleep(60_000);
            };
            HttpConnection silent = pool.take();
            long start = System.nanoTime();
            try (ConnectionPool.Watch watch = pool.watch(silent)) {
                silent.send("GET", "/", Map.of("Host", "h"));
                assertThatThrownBy(silent::readHead).isInstanceOf(IOException.class);
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(500), Duration.ofSeconds(5));
            assertThat(silent.aborted()).isTrue();
            assertThat(silent.failedStale()).isFalse();
            pool.discard(silent);

            script = (in, out) -> {
                request(in);
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n");
                for (int i = 0; i < 8; i++) { // 8 bytes over 2.4 s, each within the 600 ms
                    Thread.sleep(300);
                    write(out, "x");
                }
            };
            HttpConnection trickle = pool.take();
            try (ConnectionPool.Watch watch = pool.watch(trickle)) {
                trickle.send("GET", "/", Map.of("Host", "h"));
                trickle.readHead();
                assertThat(body(trickle)).isEqualTo("xxxxxxxx");
            }
            assertThat(trickle.aborted()).isFalse();
            pool.give(trickle);
            assertThat(pool.take()).isSameAs(trickle);
        }
    }

    @Test
    void closingThePool_endsARequestStillWaiting() throws Exception {
        script = (in, out) -> {
            request(in);
            Thread.sleep(60_000);
        };
        ConnectionPool pool = new ConnectionPool(endpoint(), SSLContext.getDefault(), Duration.ofSeconds(60), 4);
        HttpConnection waiting = pool.take();
        waiting.send("GET", "/", Map.of("Host", "h"));
        var head = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return waiting.readHead();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Thread.sleep(200);
        pool.close();
        assertThatThrownBy(() -> head.get(5, java.util.concurrent.TimeUnit.SECONDS))
                .hasCauseInstanceOf(java.io.UncheckedIOException.class);
        assertThat(waiting.aborted()).isTrue();
    }

    @Test
    void thePool_keepsOnlyReusableConnections() throws Exception {
        script = (in, out) -> {
            while (request(in)) {
                write(out, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
            }
        };
        try (ConnectionPool pool = new ConnectionPool(endpoint(), SSLContext.getDefault(), Duration.ofSeconds(5), 4)) {
            HttpConnection first = pool.take();
            first.send("GET", "/", Map.of("Host", "h"));
            first.readHead();
            pool.give(first); // the body was not read: it cannot carry another request
            HttpConnection second = pool.take();
            assertThat(second).isNotSameAs(first);
            second.send("GET", "/", Map.of("Host", "h"));
            second.readHead();
            assertThat(body(second)).isEqualTo("ok");
            pool.give(second);
            assertThat(pool.take()).isSameAs(second);
        }
        assertThat(connections.get()).isEqualTo(2);
    }

    @Test
    void anUnresolvableHost_failsAtOnce_namingIt() {
        assertThatThrownBy(() -> HttpConnection.open(new Endpoint(false, "tmount-no-such-host.invalid", 80),
                Duration.ofSeconds(5), SSLContext.getDefault()))
                .isInstanceOf(java.net.UnknownHostException.class).hasMessageContaining("tmount-no-such-host.invalid");
    }

    @Test
    void theHostHeader_carriesThePortOnlyWhenNotTheSchemes() {
        assertThat(new Endpoint(true, "s3.eu-west-1.amazonaws.com", 443).hostHeader()).isEqualTo("s3.eu-west-1.amazonaws.com");
        assertThat(new Endpoint(false, "127.0.0.1", 9000).hostHeader()).isEqualTo("127.0.0.1:9000");
        assertThat(new Endpoint(false, "::1", 80).hostHeader()).isEqualTo("[::1]");
        assertThat(new Endpoint(false, "[::1]", 9000).hostHeader()).isEqualTo("[::1]:9000"); // as URI.getHost() gives it
        assertThat(new InetSocketAddress("127.0.0.1", 1).isUnresolved()).isFalse();
    }
}
