package io.tmount.testing;

import io.tmount.store.S3Settings;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A real S3 server for tests: S3Proxy (org.gaul:s3proxy) run as its own process on a loopback port, with the
 * filesystem backend in a folder of the test, so it can be stopped and started again with its data.
 */
public final class S3ProxyServer implements AutoCloseable {

    public static final String ACCESS_KEY = "tmount-test";
    public static final String SECRET_KEY = "tmount-test-secret";

    private final Path dir;
    private final int port;
    private Process process;

    private S3ProxyServer(Path dir, int port) {
        this.dir = dir;
        this.port = port;
    }

    public static S3ProxyServer start(Path dir) throws IOException {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        S3ProxyServer server = new S3ProxyServer(dir, port);
        server.start();
        return server;
    }

    /** Starts (again) on the same port and data. */
    public synchronized void start() throws IOException {
        Path jar = Path.of(System.getProperty("tmount.s3proxy.jar", "target/s3proxy/s3proxy.jar")).toAbsolutePath();
        if (!Files.exists(jar)) {
            throw new AssertionError("S3Proxy is missing at " + jar + "; the build copies it there (mvn generate-test-resources)");
        }
        Files.createDirectories(dir.resolve("data"));
        Path properties = dir.resolve("s3proxy.properties");
        Files.writeString(properties, String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + ACCESS_KEY,
                "s3proxy.credential=" + SECRET_KEY,
                "jclouds.provider=filesystem",
                "jclouds.filesystem.basedir=" + dir.resolve("data"),
                ""));
        process = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-Xmx512m",
                "-jar", jar.toString(), "--properties", properties.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("s3proxy.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("S3Proxy exited with " + process.exitValue() + "; see " + dir.resolve("s3proxy.log"));
            }
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                sleep(100);
            }
        }
        process.destroyForcibly();
        throw new IOException("S3Proxy did not listen on port " + port + " within 60 s");
    }

    /** Stops the server as a crash would (SIGKILL); its data stays. */
    public synchronized void stop() {
        if (process != null) {
            process.destroyForcibly();
            try {
                process.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }

    public int port() {
        return port;
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** Makes a bucket (a folder of the filesystem backend). */
    public String createBucket(String name) throws IOException {
        Files.createDirectories(dir.resolve("data").resolve(name));
        return name;
    }

    /** Settings for a bucket of this server, with short timeouts so failures show quickly in tests. */
    public S3Settings settings(String bucket) {
        return settings(bucket, endpoint());
    }

    /** The same through another endpoint (a proxy in front of this server). */
    public S3Settings settings(String bucket, URI endpoint) {
        return new S3Settings(bucket, "", endpoint, "us-east-1", true,
                StaticCredentialsProvider.create(AwsBasicCredentials.create(ACCESS_KEY, SECRET_KEY)),
                Duration.ofSeconds(3), 3, 16);
    }

    /** The store URL for the CLI, with credentials passed in the environment. */
    public String url(String bucket) {
        return "s3://" + bucket + "?endpoint=" + endpoint() + "&region=us-east-1&s3ForcePathStyle=true&timeout=3s&attempts=3";
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        stop();
    }
}
