package io.tmount.store.http;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/1.1 client connection, kept alive between requests: plain over a blocking {@link SocketChannel}, so a body
 * is read from the socket straight into the caller's (direct) buffer, or TLS over an {@link SSLSocket}. Bodies framed
 * by Content-Length, chunked, or by the connection's end. Not thread-safe: one request at a time.
 */
public final class HttpConnection implements Closeable {

    private static final int HEAD_LIMIT = 64 * 1024;

    /** Where requests go. */
    public record Endpoint(boolean tls, String host, int port) {
        public Endpoint {
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1); // URI.getHost() keeps an IPv6 literal's brackets
            }
        }

        /** The Host header: the port only when it is not the scheme's. */
        public String hostHeader() {
            String name = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
            return port == (tls ? 443 : 80) ? name : name + ":" + port;
        }
    }

    /** A response's status line and headers (names lower-cased; repeated ones joined with ", "). */
    public record Head(int status, String reason, Map<String, String> headers) {
        public String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    private interface Transport extends Closeable {
        int read(ByteBuffer dst) throws IOException;

        void write(byte[] bytes) throws IOException;
    }

    private final Transport transport;
    /** Bytes read from the transport and not consumed yet (a response head's tail, chunk framing). */
    private final ByteBuffer buffered = ByteBuffer.allocate(16 * 1024).flip();
    private volatile long lastProgress = System.nanoTime();
    private volatile boolean aborted;
    private int answered;
    /** Whether a byte of the current response has arrived. */
    private boolean started;
    private boolean keepAlive;
    /** Body framing: -1 when the body runs to the connection's end. */
    private long left;
    private boolean chunked;
    private boolean lineEndOwed;
    private boolean bodyDone = true;

    private HttpConnection(Transport transport) {
        this.transport = transport;
    }

    /** Connects, within {@code timeout} for the connection (and, for TLS, for each read of the handshake). */
    public static HttpConnection open(Endpoint endpoint, Duration timeout, SSLContext tls) throws IOException {
        InetSocketAddress address = new InetSocketAddress(endpoint.host(), endpoint.port());
        if (address.isUnresolved()) {
            throw new java.net.UnknownHostException(endpoint.host());
        }
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        int connectMillis = Math.min(millis, 10_000); // as the SDK's: an endpoint that does not answer fails soon
        if (!endpoint.tls()) {
            SocketChannel channel = SocketChannel.open();
            try {
                channel.socket().connect(address, connectMillis);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                return new HttpConnection(new Plain(channel));
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }
        Socket socket = new Socket();
        try {
            socket.connect(address, connectMillis);
            socket.setTcpNoDelay(true);
            socket.setSoTimeout(millis);
            SSLSocket secure = (SSLSocket) tls.getSocketFactory().createSocket(socket, endpoint.host(), endpoint.port(), true);
            SSLParameters parameters = secure.getSSLParameters();
            parameters.setEndpointIdentificationAlgorithm("HTTPS"); // the certificate must name the host
            secure.setSSLParameters(parameters);
            secure.startHandshake();
            return new HttpConnection(new Secure(secure));
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** Sends a request head (a request without a body). */
    public void send(String method, String target, Map<String, String> headers) throws IOException {
        if (!bodyDone) {
            throw new IllegalStateException("the previous response's body was not read to its end");
        }
        started = false;
        StringBuilder head = new StringBuilder(512).append(method).append(' ').append(target).append(" HTTP/1.1\r\n");
        headers.forEach((name, value) -> head.append(name).append(": ").append(value).append("\r\n"));
        transport.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    /** Reads the response's status line and headers, skipping interim (1xx) responses. */
    public Head readHead() throws IOException {
        while (true) {
            String status = line(true);
            Map<String, String> headers = new HashMap<>();
            int size = status.length();
            for (String line = line(false); !line.isEmpty(); line = line(false)) {
                size += line.length();
                if (size > HEAD_LIMIT) {
                    throw new IOException("the response head is larger than " + HEAD_LIMIT + " bytes");
                }
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new IOException("malformed response header line: " + printable(line));
                }
                headers.merge(line.substring(0, colon).trim().toLowerCase(Locale.ROOT), line.substring(colon + 1).trim(),
                        (a, b) -> a + ", " + b);
            }
            String[] parts = status.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || !parts[1].matches("\\d{3}")) {
                throw new IOException("not an HTTP/1.x response: " + printable(status));
            }
            int code = Integer.parseInt(parts[1]);
            if (code >= 100 && code < 200) {
                continue;
            }
            answered++;
            Head head = new Head(code, parts.length > 2 ? parts[2] : "", Map.copyOf(headers));
            frame(head, parts[0]);
            return head;
        }
    }

    /**
     * Reads body bytes into {@code dst} (straight from the socket when nothing is buffered): how many, or -1 at the
     * body's end.
     */
    public int readBody(ByteBuffer dst) throws IOException {
        if (chunked && left == 0 && !bodyDone) {
            if (lineEndOwed) {
                expectLineEnd();
                lineEndOwed = false;
            }
            nextChunk();
        }
        if (bodyDone) {
            return -1;
        }
        int want = (int) (left < 0 ? dst.remaining() : Math.min(dst.remaining(), left));
        if (want == 0) {
            return 0;
        }
        int n;
        if (buffered.hasRemaining()) {
            n = Math.min(want, buffered.remaining());
            ByteBuffer part = buffered.slice(buffered.position(), n);
            dst.put(part);
            buffered.position(buffered.position() + n);
        } else {
            int limit = dst.limit();
            dst.limit(dst.position() + want);
            try {
                n = transport.read(dst);
            } finally {
                dst.limit(limit);
            }
            if (n < 0) {
                if (left >= 0) {
                    keepAlive = false;
                    throw new EOFException("the connection closed " + left + " bytes before the body's end");
                }
                bodyDone = true;
                return -1;
            }
            lastProgress = System.nanoTime();
        }
        if (left > 0) {
            left -= n;
            if (left == 0) {
                if (chunked) {
                    lineEndOwed = true; // read with the next chunk's size: nothing may fail after bytes were given
                } else {
                    bodyDone = true;
                }
            }
        }
        return n;
    }

    /** Reads the rest of a body of at most {@code max} bytes (an error's message); a longer one ends the connection. */
    public byte[] readSmallBody(int max) throws IOException {
        ByteBuffer body = ByteBuffer.allocate(max);
        while (body.hasRemaining() && readBody(body) >= 0) {
            // reading
        }
        if (!bodyDone) {
            keepAlive = false;
            bodyDone = true;
        }
        return java.util.Arrays.copyOf(body.array(), body.position());
    }

    /** Whether the connection can carry another request: the last body was read whole and neither side ends it. */
    public boolean reusable() {
        return keepAlive && bodyDone && !aborted && !buffered.hasRemaining(); // stray bytes would pass for an answer
    }

    /**
     * Whether a failure of the current request means only that the server had closed this kept-alive connection:
     * it answered before, nothing of this answer arrived, and no timeout ended it. The request can go again at once.
     */
    public boolean failedStale() {
        return answered > 0 && !started && !aborted;
    }

    /** When bytes last arrived (System.nanoTime), for a watchdog. */
    long lastProgress() {
        return lastProgress;
    }

    void touch() {
        lastProgress = System.nanoTime();
    }

    /** Closes the connection under a blocked reader (a timeout); {@link #aborted()} says so afterwards. */
    void abort() {
        aborted = true;
        try {
            transport.close();
        } catch (IOException e) {
            // closing is all that is wanted
        }
    }

    public boolean aborted() {
        return aborted;
    }

    @Override
    public void close() throws IOException {
        keepAlive = false;
        transport.close();
    }

    private void frame(Head head, String version) throws IOException {
        String connection = head.header("connection");
        keepAlive = version.equals("HTTP/1.1") ? !"close".equalsIgnoreCase(connection)
                : "keep-alive".equalsIgnoreCase(connection);
        String encoding = head.header("transfer-encoding");
        String length = head.header("content-length");
        chunked = encoding != null && encoding.toLowerCase(Locale.ROOT).contains("chunked");
        lineEndOwed = false;
        bodyDone = false;
        if (head.status() == 204 || head.status() == 304) {
            left = 0;
            bodyDone = true;
        } else if (chunked) {
            left = 0;
        } else if (length != null) {
            left = contentLength(length);
            bodyDone = left == 0;
        } else {
            left = -1; // to the connection's end
            keepAlive = false;
        }
    }

    /** Content-Length, repeated only with one value (RFC 9112 6.3: differing values make the message invalid). */
    private static long contentLength(String value) throws IOException {
        long length = -1;
        for (String part : value.split(",")) {
            long one;
            try {
                one = Long.parseLong(part.trim());
            } catch (NumberFormatException e) {
                throw new IOException("malformed Content-Length: " + printable(value));
            }
            if (one < 0 || (length >= 0 && one != length)) {
                throw new IOException("invalid Content-Length: " + printable(value));
            }
            length = one;
        }
        return length;
    }

    private void nextChunk() throws IOException {
        String size = line(false);
        int semicolon = size.indexOf(';');
        try {
            left = Long.parseLong((semicolon < 0 ? size : size.substring(0, semicolon)).trim(), 16);
        } catch (NumberFormatException e) {
            throw new IOException("malformed chunk size: " + printable(size));
        }
        if (left < 0) {
            throw new IOException("malformed chunk size: " + printable(size));
        }
        if (left == 0) {
            while (!line(false).isEmpty()) {
                // trailers are not used
            }
            bodyDone = true;
        }
    }

    private void expectLineEnd() throws IOException {
        if (!line(false).isEmpty()) {
            throw new IOException("a chunk did not end where its size said");
        }
    }

    /** One CRLF- (or LF-) terminated line of the head or the chunk framing, without its end. */
    private String line(boolean first) throws IOException {
        StringBuilder line = new StringBuilder(64);
        while (true) {
            if (!buffered.hasRemaining()) {
                buffered.clear();
                int n;
                try {
                    n = transport.read(buffered);
                } finally {
                    buffered.flip();
                }
                if (n < 0) {
                    if (first && line.isEmpty()) {
                        keepAlive = false;
                        throw new EOFException("the server closed the connection without an answer");
                    }
                    throw new EOFException("the connection closed in the middle of the response's framing");
                }
                lastProgress = System.nanoTime();
            }
            byte b = buffered.get();
            started |= first;
            if (b == '\n') {
                int end = line.length();
                if (end > 0 && line.charAt(end - 1) == '\r') {
                    line.setLength(end - 1);
                }
                return line.toString();
            }
            if (line.length() >= HEAD_LIMIT) {
                throw new IOException("a response line is longer than " + HEAD_LIMIT + " bytes");
            }
            line.append((char) (b & 0xff));
        }
    }

    private static String printable(String text) {
        String cut = text.length() > 100 ? text.substring(0, 100) + "..." : text;
        return cut.replaceAll("[^\\x20-\\x7e]", "?");
    }

    private record Plain(SocketChannel channel) implements Transport {
        @Override
        public int read(ByteBuffer dst) throws IOException {
            return channel.read(dst);
        }

        @Override
        public void write(byte[] bytes) throws IOException {
            ByteBuffer src = ByteBuffer.wrap(bytes);
            while (src.hasRemaining()) {
                channel.write(src);
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** TLS: the engine decrypts into arrays, so a direct destination gets one more copy. */
    private static final class Secure implements Transport {
        private final SSLSocket socket;
        private final InputStream in;
        private final OutputStream out;
        private byte[] scratch;

        Secure(SSLSocket socket) throws IOException {
            this.socket = socket;
            this.in = socket.getInputStream();
            this.out = socket.getOutputStream();
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (dst.hasArray()) {
                int n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
                if (n > 0) {
                    dst.position(dst.position() + n);
                }
                return n;
            }
            if (scratch == null) {
                scratch = new byte[64 * 1024];
            }
            int n = in.read(scratch, 0, Math.min(scratch.length, dst.remaining()));
            if (n > 0) {
                dst.put(scratch, 0, n);
            }
            return n;
        }

        @Override
        public void write(byte[] bytes) throws IOException {
            out.write(bytes);
            out.flush();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
