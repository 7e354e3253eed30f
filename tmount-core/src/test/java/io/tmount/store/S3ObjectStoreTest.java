package io.tmount.store;

import io.tmount.TmountException;
import com.sun.net.httpserver.HttpServer;
import io.tmount.testing.FaultProxy;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.S3ProxyServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The S3 provider against a real S3 server (S3Proxy on loopback): no mocked client. */
@ExtendWith(NoLeftovers.class)
class S3ObjectStoreTest {

    @TempDir
    static Path serverDir;

    static S3ProxyServer server;
    private static final AtomicInteger buckets = new AtomicInteger();

    @TempDir
    Path dir;

    private S3ObjectStore store;
    private String bucket;

    @BeforeAll
    static void startServer() throws IOException {
        server = S3ProxyServer.start(serverDir);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void open() throws IOException {
        bucket = server.createBucket("bucket-" + buckets.incrementAndGet());
        store = S3ObjectStore.open(server.settings(bucket));
    }

    @Test
    void putGetSizeExistsDeleteAndFolders() throws IOException {
        store.put("b1/metadata.json", "{}".getBytes(StandardCharsets.UTF_8));
        store.put("b2/rootfs.ext4", new byte[10]);
        assertThat(store.exists("b1/metadata.json")).isTrue();
        assertThat(store.exists("b1/other")).isFalse();
        assertThat(store.size("b2/rootfs.ext4")).isEqualTo(10);
        assertThat(new String(store.get("b1/metadata.json"), StandardCharsets.UTF_8)).isEqualTo("{}");
        assertThat(store.folders()).containsExactly("b1", "b2");
        store.delete("b1/metadata.json");
        assertThat(store.exists("b1/metadata.json")).isFalse();
        assertThat(store.url()).isEqualTo("s3://" + bucket + "?endpoint=" + server.endpoint());
    }

    @Test
    void rangedReads_andTheEnd() throws IOException {
        byte[] object = new byte[100_000];
        new Random(1).nextBytes(object);
        store.put("b/rootfs.ext4", object);
        ByteBuffer buffer = ByteBuffer.allocateDirect(5000);
        assertThat(store.read("b/rootfs.ext4", 1234, buffer)).isEqualTo(5000);
        byte[] got = new byte[5000];
        buffer.flip().get(got);
        assertThat(got).isEqualTo(java.util.Arrays.copyOfRange(object, 1234, 6234));
        assertThat(store.read("b/rootfs.ext4", 99_000, ByteBuffer.allocate(5000))).isEqualTo(1000);
        assertThat(store.read("b/rootfs.ext4", 100_000, ByteBuffer.allocate(10))).isEqualTo(-1);
    }

    @Test
    void keysWithOddCharacters_areReadBack_signedAsTheServerChecks() throws IOException {
        // the ranged reads sign their own requests: S3Proxy checks each signature against the key as it decodes it
        for (String key : List.of("b/a b+c=d&e%f;g,h", "b/ü-ß/漢字", "b/~x._-y/(1)!*'")) {
            byte[] object = key.getBytes(StandardCharsets.UTF_8);
            store.put(key, object);
            ByteBuffer buffer = ByteBuffer.allocateDirect(object.length);
            assertThat(store.read(key, 0, buffer)).as(key).isEqualTo(object.length);
            byte[] got = new byte[object.length];
            buffer.flip().get(got);
            assertThat(got).as(key).isEqualTo(object);
        }
    }

    @Test
    void readsWithCredentialsTheServerRefuses_areAClearError() throws IOException {
        store.put("b/rootfs.ext4", new byte[100]);
        AtomicInteger asked = new AtomicInteger();
        S3Settings right = server.settings(bucket);
        AwsCredentialsProvider turning = () -> asked.incrementAndGet() == 1 ? right.credentials().resolveCredentials()
                : AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY, "not-the-secret");
        try (S3ObjectStore turned = S3ObjectStore.open(right.withCredentials(turning))) {
            assertThatThrownBy(() -> turned.read("b/rootfs.ext4", 0, ByteBuffer.allocate(10)))
                    .hasMessageContaining("S3 refused the credentials for bucket '" + bucket + "'")
                    .hasMessageContaining("SignatureDoesNotMatch");
        }
    }

    @Test
    void throttledReads_areRetried_andEndWithTheBytes() throws IOException {
        byte[] object = new byte[1 << 20];
        new Random(7).nextBytes(object);
        store.put("b/rootfs.ext4", object);
        try (FaultProxy proxy = new FaultProxy(server.port(), Duration.ZERO);
             S3ObjectStore viaProxy = S3ObjectStore.open(server.settings(bucket, proxy.endpoint()))) {
            proxy.failNext(2, "503 Slow Down"); // 3 attempts: the third gets through
            ByteBuffer all = ByteBuffer.allocateDirect(object.length);
            assertThat(viaProxy.read("b/rootfs.ext4", 0, all)).isEqualTo(object.length);
            assertThat(proxy.failed()).isEqualTo(2);
            byte[] got = new byte[object.length];
            all.flip().get(got);
            assertThat(got).isEqualTo(object);

            proxy.failNext(3, "500 Internal Server Error"); // as many as the attempts: the read fails, saying why
            assertThatThrownBy(() -> viaProxy.read("b/rootfs.ext4", 0, ByteBuffer.allocate(10)))
                    .hasMessageContaining("read b/rootfs.ext4 bytes=0-9").hasMessageContaining("500");
        }
    }

    @Test
    void aKeptAliveConnectionTheServerClosed_isReplacedAtOnce_withoutUsingAnAttempt() throws Exception {
        // a server that closes each connection after its answer without saying so (no Connection: close)
        byte[] object = "0123456789".getBytes(StandardCharsets.US_ASCII);
        AtomicInteger connections = new AtomicInteger();
        try (java.net.ServerSocket listener = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                while (true) {
                    try (java.net.Socket socket = listener.accept()) {
                        connections.incrementAndGet();
                        java.io.InputStream in = socket.getInputStream();
                        for (int matched = 0, b; matched < 4 && (b = in.read()) >= 0; ) {
                            matched = b == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : b == '\r' ? 1 : 0;
                        }
                        socket.getOutputStream().write(("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\n"
                                + "Content-Length: 10\r\n\r\n0123456789").getBytes(StandardCharsets.US_ASCII));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            S3Settings once = server.settings(bucket, URI.create("http://127.0.0.1:" + listener.getLocalPort()))
                    .withLimits(Duration.ofSeconds(3), 1, 4);
            try (S3RangeReads reads = new S3RangeReads(once, once.credentials(),
                    javax.net.ssl.SSLContext.getDefault(), new S3Calls(once))) {
                for (int i = 0; i < 3; i++) {
                    ByteBuffer buffer = ByteBuffer.allocate(10);
                    assertThat(reads.read("b/rootfs.ext4", 0, buffer, position -> {
                    })).isEqualTo(10);
                    assertThat(buffer.array()).isEqualTo(object);
                    Thread.sleep(50); // the server has closed the connection by the next read
                }
            }
        }
        assertThat(connections.get()).isEqualTo(3);
    }

    /** Answers the i-th request (one per connection) with {@code answers[i]} as raw bytes, then closes. */
    private static java.net.ServerSocket scripted(List<String> requests, String... answers) throws IOException {
        java.net.ServerSocket listener = new java.net.ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            for (String answer : answers) {
                try (java.net.Socket socket = listener.accept()) {
                    java.io.InputStream in = socket.getInputStream();
                    StringBuilder head = new StringBuilder();
                    for (int matched = 0, b; matched < 4 && (b = in.read()) >= 0; ) {
                        head.append((char) b);
                        matched = b == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : b == '\r' ? 1 : 0;
                    }
                    requests.add(head.toString());
                    socket.getOutputStream().write(answer.getBytes(StandardCharsets.ISO_8859_1));
                } catch (IOException e) {
                    return;
                }
            }
        });
        return listener;
    }

    private S3RangeReads readsFrom(java.net.ServerSocket listener) throws Exception {
        S3Settings settings = server.settings(bucket, URI.create("http://127.0.0.1:" + listener.getLocalPort()));
        return new S3RangeReads(settings, settings.credentials(), javax.net.ssl.SSLContext.getDefault(),
                new S3Calls(settings));
    }

    private static byte[] readAll(S3RangeReads reads, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocateDirect(length);
        List<Integer> arrived = new ArrayList<>();
        assertThat(reads.read("k", 0, buffer, arrived::add)).isEqualTo(length);
        assertThat(arrived).isSorted().doesNotHaveDuplicates();
        byte[] got = new byte[length];
        buffer.flip().get(got);
        return got;
    }

    @Test
    void aChunkedBodyCutAtAChunksEnd_isResumedWithoutLosingOrRepeatingAByte() throws Exception {
        // the first answer's chunk of 4 bytes arrives whole, then the connection ends before the chunk's CRLF
        List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (java.net.ServerSocket listener = scripted(requests,
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nETag: \"v1\"\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n4\r\n0123",
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 4-9/10\r\nETag: \"v1\"\r\n"
                        + "Content-Length: 6\r\n\r\n456789")) {
            try (S3RangeReads reads = readsFrom(listener)) {
                assertThat(new String(readAll(reads, 10), StandardCharsets.US_ASCII)).isEqualTo("0123456789");
            }
        }
        assertThat(requests).hasSize(2);
        assertThat(requests.get(1)).contains("Range: bytes=4-9\r\n");
    }

    @Test
    void aBodyResumedFromAnotherVersionOfTheObject_isAnError_notMixedBytes() throws Exception {
        List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (java.net.ServerSocket listener = scripted(requests,
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\nETag: \"v1\"\r\n"
                        + "Content-Length: 10\r\n\r\n0123",
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 4-9/10\r\nETag: \"v2\"\r\n"
                        + "Content-Length: 6\r\n\r\nabcdef")) {
            try (S3RangeReads reads = readsFrom(listener)) {
                assertThatThrownBy(() -> readAll(reads, 10)).hasMessageContaining("changed while it was read")
                        .hasMessageContaining("\"v1\"").hasMessageContaining("\"v2\"");
            }
        }
    }

    @Test
    void aBodyThatBreaksAfterAllWasAskedFor_isStillARead() throws Exception {
        // all 10 bytes come, then a malformed chunk terminator: the bytes count, the connection is not reused
        List<String> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (java.net.ServerSocket listener = scripted(requests,
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/10\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\nzz\r\n\r\n")) {
            try (S3RangeReads reads = readsFrom(listener)) {
                assertThat(new String(readAll(reads, 10), StandardCharsets.US_ASCII)).isEqualTo("0123456789");
            }
        }
        assertThat(requests).hasSize(1);
    }

    @Test
    void readsOverTls_checkTheServersCertificateAndName() throws Exception {
        io.tmount.testing.TestPki pki = io.tmount.testing.TestPki.create(dir.resolve("pki"));
        javax.net.ssl.SSLContext serverSide = io.tmount.nbd.NbdTls.fromPem(pki.cert("server"), pki.key("server"),
                pki.cert("ca"), false, true).context();
        com.sun.net.httpserver.HttpsServer https = com.sun.net.httpserver.HttpsServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(serverSide));
        byte[] object = "0123456789".repeat(1000).getBytes(StandardCharsets.US_ASCII);
        List<String> paths = new java.util.concurrent.CopyOnWriteArrayList<>();
        https.createContext("/", exchange -> {
            paths.add(exchange.getRequestURI().getRawPath());
            String range = exchange.getRequestHeaders().getFirst("Range"); // bytes=a-b
            String[] bounds = range.substring("bytes=".length()).split("-");
            int from = Integer.parseInt(bounds[0]);
            int to = Math.min(object.length - 1, Integer.parseInt(bounds[1]));
            exchange.getResponseHeaders().add("Content-Range", "bytes " + from + "-" + to + "/" + object.length);
            exchange.sendResponseHeaders(206, to - from + 1);
            exchange.getResponseBody().write(object, from, to - from + 1);
            exchange.close();
        });
        https.start();
        try {
            for (String host : List.of("127.0.0.1", "localhost")) {
                S3Settings secure = server.settings(bucket, URI.create("https://" + host + ":" + https.getAddress().getPort()));
                try (S3RangeReads reads = new S3RangeReads(secure, secure.credentials(), serverSide, new S3Calls(secure))) {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(5000);
                    assertThat(reads.read("k", 2500, buffer, position -> {
                    })).isEqualTo(5000);
                    byte[] got = new byte[5000];
                    buffer.flip().get(got);
                    assertThat(got).isEqualTo(java.util.Arrays.copyOfRange(object, 2500, 7500));
                }
            }
            assertThat(paths).containsOnly("/" + bucket + "/k");
            // a client that trusts another CA refuses the server, and says so
            javax.net.ssl.SSLContext otherTrust = io.tmount.nbd.NbdTls.fromPem(pki.cert("server"), pki.key("server"),
                    pki.cert("other-ca"), false, true).context();
            S3Settings secure = server.settings(bucket, URI.create("https://127.0.0.1:" + https.getAddress().getPort()))
                    .withLimits(Duration.ofSeconds(3), 1, 4);
            try (S3RangeReads reads = new S3RangeReads(secure, secure.credentials(), otherTrust, new S3Calls(secure))) {
                assertThatThrownBy(() -> reads.read("k", 0, ByteBuffer.allocate(10), position -> {
                })).hasMessageContaining("did not answer").hasMessageContaining("SSLHandshakeException");
            }
        } finally {
            https.stop(0);
        }
    }

    @Test
    void largeUploads_goInParts_andDownloadWhole() throws IOException {
        byte[] big = new byte[(int) S3ObjectStore.MULTIPART_THRESHOLD + 3_000_000];
        new Random(2).nextBytes(big);
        Path source = Files.write(dir.resolve("big.img"), big);
        store.upload("b/rootfs.ext4", source);
        assertThat(store.size("b/rootfs.ext4")).isEqualTo(big.length);
        Path copy = dir.resolve("copy.img");
        store.download("b/rootfs.ext4", copy);
        assertThat(Files.mismatch(source, copy)).isEqualTo(-1);
        store.upload("b/small", Files.write(dir.resolve("small"), new byte[]{1, 2, 3}));
        assertThat(store.get("b/small")).containsExactly(1, 2, 3);
    }

    @Test
    void createOnlyWrites_neverReplaceAnObject_smallOrInParts() throws IOException {
        store.create("b/metadata.json", "first".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> store.create("b/metadata.json", "second".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(ObjectExistsException.class).hasMessageContaining("b/metadata.json");
        assertThat(store.get("b/metadata.json")).asString(StandardCharsets.UTF_8).isEqualTo("first");

        byte[] big = new byte[(int) S3ObjectStore.MULTIPART_THRESHOLD + 1_000_000];
        new Random(3).nextBytes(big);
        Path source = Files.write(dir.resolve("big.img"), big);
        store.create("b/rootfs.ext4", source);
        assertThatThrownBy(() -> store.create("b/rootfs.ext4", source)).isInstanceOf(ObjectExistsException.class);
        assertThatThrownBy(() -> store.create("b/rootfs.ext4", Files.write(dir.resolve("small"), new byte[]{1})))
                .isInstanceOf(ObjectExistsException.class);
        assertThat(store.size("b/rootfs.ext4")).isEqualTo(big.length);
    }

    @Test
    void anEndpointThatDoesNotResolve_failsAtOnce_namingIt() {
        // RFC 6761: .invalid never resolves, so this is a DNS failure on any host
        java.net.URI nowhere = java.net.URI.create("http://tmount-no-such-host.invalid:9000");
        long start = System.nanoTime();
        assertThatThrownBy(() -> new StoreLocation.S3(server.settings("dns", nowhere)).open().close())
                .hasMessageContaining(nowhere.toString()).hasMessageContaining("UnknownHost");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - start)).isLessThan(java.time.Duration.ofSeconds(15));
    }

    @Test
    void aBodyCutOffMidway_isReadOnFromWhereItStopped() throws IOException {
        byte[] object = new byte[3 << 20];
        new Random(4).nextBytes(object);
        store.put("b/rootfs.ext4", object);
        try (FaultProxy proxy = new FaultProxy(server.port(), Duration.ZERO);
             S3ObjectStore viaProxy = S3ObjectStore.open(server.settings(bucket, proxy.endpoint()))) {
            proxy.cutNextResponseAfter(1 << 20); // headers and about 1 MiB of the body, then a reset
            ByteBuffer all = ByteBuffer.allocateDirect(object.length);
            List<Integer> arrived = new ArrayList<>();
            assertThat(viaProxy.read("b/rootfs.ext4", 0, all, arrived::add)).isEqualTo(object.length);
            assertThat(proxy.cuts()).isEqualTo(1);
            byte[] got = new byte[object.length];
            all.flip().get(got);
            assertThat(got).isEqualTo(object);
            // told as bytes arrived, in many steps, never backwards (over the cut too), ending with all of it
            assertThat(arrived.size()).isGreaterThan(3);
            assertThat(arrived).isSorted().doesNotHaveDuplicates();
            assertThat(arrived.getLast()).isEqualTo(object.length);
        }
    }

    @Test
    void uploadsOnASlowLink_getTimeForTheirBody() throws IOException {
        // 12 MiB at 3 MiB/s take 4 s, past the 3 s per attempt; uploads get a second more per MiB
        byte[] object = new byte[12 << 20];
        new Random(5).nextBytes(object);
        Path source = Files.write(dir.resolve("img"), object);
        try (FaultProxy proxy = new FaultProxy(server.port(), Duration.ZERO);
             S3ObjectStore slow = S3ObjectStore.open(server.settings(bucket, proxy.endpoint()))) {
            proxy.limitRequests(3 << 20);
            long start = System.nanoTime();
            slow.create("b/rootfs.ext4", source);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThan(Duration.ofSeconds(3));
        }
        assertThat(store.get("b/rootfs.ext4")).isEqualTo(object);
    }

    @Test
    void aServerThatIgnoresRanges_isAClearError_notWrongBytes() throws IOException {
        // an HTTP server answering every GET with the whole object and 200, as a server without Range support does
        HttpServer plain = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        byte[] object = "0123456789".repeat(100).getBytes(StandardCharsets.UTF_8);
        plain.createContext("/", exchange -> {
            exchange.getResponseHeaders().add("ETag", "\"e\"");
            boolean head = exchange.getRequestMethod().equals("HEAD");
            exchange.sendResponseHeaders(200, head ? -1 : object.length);
            if (!head) {
                exchange.getResponseBody().write(object);
            }
            exchange.close();
        });
        plain.start();
        try (S3ObjectStore ignoring = S3ObjectStore.open(server.settings(bucket,
                URI.create("http://127.0.0.1:" + plain.getAddress().getPort())))) {
            assertThatThrownBy(() -> ignoring.read("b/rootfs.ext4", 100, ByteBuffer.allocate(10)))
                    .isInstanceOf(IOException.class).hasMessageContaining("ignores Range requests");
        } finally {
            plain.stop(0);
        }
    }

    @Test
    void missingObjects_areNoSuchObject() {
        assertThatThrownBy(() -> store.size("x/rootfs.ext4")).isInstanceOf(NoSuchObjectException.class)
                .hasMessageContaining("x/rootfs.ext4").hasMessageContaining("s3://" + bucket);
        assertThatThrownBy(() -> store.get("x/y")).isInstanceOf(NoSuchObjectException.class);
        assertThatThrownBy(() -> store.read("x/y", 0, ByteBuffer.allocate(10))).isInstanceOf(NoSuchObjectException.class);
        assertThatThrownBy(() -> store.download("x/y", dir.resolve("t"))).isInstanceOf(NoSuchObjectException.class);
        assertThat(dir.resolve("t")).doesNotExist();
    }

    @Test
    void aPrefix_keepsTheStoreInItsOwnFolder() throws IOException {
        S3Settings prefixed = new S3Settings(bucket, "/fleet-a/", server.endpoint(), "us-east-1", true,
                server.settings(bucket).credentials(), server.settings(bucket).attemptTimeout(), 3, 4);
        try (S3ObjectStore inPrefix = S3ObjectStore.open(prefixed)) {
            inPrefix.put("b1/rootfs.ext4", new byte[3]);
            assertThat(inPrefix.folders()).containsExactly("b1");
            assertThat(store.exists("fleet-a/b1/rootfs.ext4")).isTrue();
            assertThat(store.folders()).containsExactly("fleet-a");
        }
    }

    @Test
    void wrongCredentials_areAClearError() {
        S3Settings wrong = server.settings(bucket).withCredentials(
                StaticCredentialsProvider.create(AwsBasicCredentials.create("nobody", "wrong")));
        assertThatThrownBy(() -> S3ObjectStore.open(wrong))
                .hasMessageContaining("S3 refused the credentials for bucket '" + bucket + "'")
                .hasMessageContaining(server.endpoint().toString())
                .hasMessageContaining("AWS_ACCESS_KEY_ID");
    }

    @Test
    void aMissingBucket_isAClearError() {
        assertThatThrownBy(() -> S3ObjectStore.open(server.settings("no-such-bucket")))
                .hasMessageContaining("S3 bucket 'no-such-bucket' does not exist at " + server.endpoint());
    }

    @Test
    void anEndpointThatDoesNotAnswer_isAClearError() throws IOException {
        int closedPort;
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = probe.getLocalPort();
        }
        S3Settings nowhere = server.settings(bucket, java.net.URI.create("http://127.0.0.1:" + closedPort));
        long start = System.nanoTime();
        assertThatThrownBy(() -> S3ObjectStore.open(nowhere))
                .hasMessageContaining("http://127.0.0.1:" + closedPort + " did not answer");
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(20_000);
    }

    @Test
    void theTemplateStoreLayer_saysWhichBuildIsMissing() {
        TemplateStore templates = new TemplateStore(store);
        assertThatThrownBy(() -> templates.resolve(TemplateId.of("t"), BuildId.of("nope")))
                .isInstanceOf(TmountException.class)
                .hasMessageContaining("build 'nope' of template 't' not found in template store s3://" + bucket);
    }
}
