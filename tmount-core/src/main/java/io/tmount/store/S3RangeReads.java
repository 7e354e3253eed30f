package io.tmount.store;

import io.tmount.store.S3Calls.S3Failure;
import io.tmount.store.http.ConnectionPool;
import io.tmount.store.http.HttpConnection;
import io.tmount.store.http.HttpConnection.Endpoint;
import io.tmount.store.http.SigV4;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.core.exception.SdkException;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ranged GETs, the reads behind every cold chunk, over tmount's own HTTP/1.1 connections signed with SigV4 rather
 * than through the SDK: a GET's body goes from the socket straight into the fetch's buffer, and a request costs a
 * few microseconds of CPU instead of the SDK's pipeline (whose hundreds of methods a daemon was still compiling after
 * gigabytes of reads). Everything else (listings, writes, uploads) stays with the SDK.
 * <p>
 * Retries: an attempt that fails before any byte of its body (an I/O error, 429, 5xx, SlowDown, RequestTimeout) is
 * tried again after an exponential backoff with jitter, up to the configured attempts; a body that breaks off
 * midway is asked for again from where it stopped, and such an attempt, having delivered bytes, is not counted. A
 * kept-alive connection the server had closed is replaced at once. Retries draw on a {@link RetryBudget}, so reads
 * of a store that stays down fail at their first error.
 */
final class S3RangeReads implements Closeable {

    private static final Logger log = LoggerFactory.getLogger(S3RangeReads.class);
    private static final Pattern CODE = Pattern.compile("<Code>([^<]*)</Code>");
    private static final Pattern MESSAGE = Pattern.compile("<Message>([^<]*)</Message>");
    private static final long BACKOFF_BASE_MILLIS = 100;
    private static final long THROTTLE_BASE_MILLIS = 500;
    private static final long BACKOFF_CAP_MILLIS = 20_000;

    private final S3Settings settings;
    private final S3Calls calls;
    private final AwsCredentialsProvider credentials;
    private final SigV4 signer;
    private final ConnectionPool pool;
    private final RetryBudget budget = new RetryBudget();
    /** The path before an object's key: the endpoint's own path, and the bucket when addressed path-style. */
    private final String pathBase;

    S3RangeReads(S3Settings settings, AwsCredentialsProvider credentials, SSLContext tls, S3Calls calls) {
        this.settings = settings;
        this.calls = calls;
        this.credentials = credentials;
        this.signer = new SigV4(settings.region(), "s3");
        URI base = settings.endpoint() != null ? settings.endpoint()
                : URI.create("https://s3." + settings.region() + ".amazonaws.com"
                + (settings.region().startsWith("cn-") ? ".cn" : ""));
        boolean secure = "https".equalsIgnoreCase(base.getScheme());
        // a bucket with dots cannot be a host name under a wildcard certificate: S3 then wants the path style
        boolean pathStyle = settings.pathStyle() || (secure && settings.bucket().contains("."));
        String host = pathStyle ? base.getHost() : settings.bucket() + "." + base.getHost();
        int port = base.getPort() > 0 ? base.getPort() : secure ? 443 : 80;
        String basePath = base.getPath() == null ? "" : base.getPath().replaceAll("/+$", ""); // encoded when sent
        this.pathBase = basePath + (pathStyle ? "/" + settings.bucket() : "");
        this.pool = new ConnectionPool(new Endpoint(secure, host, port), tls, settings.attemptTimeout(),
                settings.maxConnections());
    }

    /** What one attempt delivered: bytes, whether the object ended, and what broke it off (null: nothing). */
    private record Attempt(int bytes, boolean ended, IOException failure, boolean retryable, boolean throttled,
                           boolean stale) {
        Attempt(int bytes, boolean ended, IOException failure, boolean retryable, boolean throttled) {
            this(bytes, ended, failure, retryable, throttled, false);
        }
    }

    /**
     * Reads {@code dst.remaining()} bytes of {@code key} from {@code offset}: the bytes read (fewer at the object's
     * end), -1 when {@code offset} is at or past the end. {@code arrived} is told the buffer's position as bytes come.
     */
    int read(String key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        int total = 0;
        int failures = 0;
        int spent = 0;
        int stale = 0;
        String[] etag = {null}; // the version the first answer came from: a resumed body must be the same object
        while (true) {
            Attempt attempt = attempt(key, offset + total, dst, arrived, etag);
            total += attempt.bytes();
            if (attempt.failure() == null || !dst.hasRemaining()) {
                budget.succeeded(spent); // all asked for arrived, whatever ended the connection after it
                return attempt.ended() && total == 0 ? -1 : total;
            }
            if (attempt.stale() && ++stale <= 2) {
                pool.dropIdle(); // the others were idle as long: do not find them closed one by one
                continue;
            }
            if (!attempt.retryable()) {
                throw attempt.failure();
            }
            if (attempt.bytes() > 0) {
                log.debug("reading {} broke off at byte {} ({}); asking again", key, offset + total,
                        attempt.failure().getMessage());
                continue; // progress: ask for the rest at once, uncounted
            }
            failures++;
            int cost = failures < settings.maxAttempts()
                    ? budget.takeRetry(!(attempt.failure() instanceof S3Failure)) : 0;
            if (cost == 0) {
                String tries = failures + (failures == 1 ? " attempt" : " attempts")
                        + (failures < settings.maxAttempts() ? ", no retries while the store keeps failing" : "");
                throw attempt.failure() instanceof S3Failure failure ? failure
                        : calls.unanswered("read " + key + " from byte " + (offset + total) + " (" + tries + ")",
                        attempt.failure());
            }
            spent += cost;
            backoff(failures, attempt.throttled());
        }
    }

    /**
     * One GET of {@code [offset, offset + dst.remaining())}. The bytes it reports are exactly those it put into
     * {@code dst} (counted from the buffer's position, so no failure after a copy can lose or repeat any).
     */
    private Attempt attempt(String key, long offset, ByteBuffer dst, IntConsumer arrived, String[] etag)
            throws IOException {
        String range = "bytes=" + offset + "-" + (offset + dst.remaining() - 1);
        String what = "read " + key + " " + range;
        SigV4.Credentials signing = credentials(what);
        HttpConnection connection;
        try {
            connection = pool.take();
        } catch (IOException e) {
            throwIfInterrupted(e);
            if (e instanceof SSLHandshakeException) { // a certificate the client does not trust stays so: no retry
                return new Attempt(0, false, calls.unanswered(what, e), false, false);
            }
            return new Attempt(0, false, e, true, false);
        }
        int start = dst.position();
        boolean keep = false;
        try (ConnectionPool.Watch watch = pool.watch(connection)) {
            String path = SigV4.encodePath(pathBase + "/" + settings.objectKey(key));
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("Host", pool.endpoint().hostHeader());
            headers.put("Range", range);
            headers.put("User-Agent", "tmount");
            connection.send("GET", path, signer.sign("GET", path, headers, signing, Instant.now()));
            HttpConnection.Head head = connection.readHead();
            int status = head.status();
            if (status == 206) {
                String served = head.header("content-range");
                if (served == null || !served.startsWith("bytes " + offset + "-")) {
                    return new Attempt(0, false, new IOException(calls.endpointName() + " answered the ranged read "
                            + range + " of " + key + " with range " + served + ": tmount needs an S3 server that "
                            + "serves byte ranges"), false, false);
                }
                String version = head.header("etag");
                if (etag[0] == null) {
                    etag[0] = version;
                } else if (version != null && !version.equals(etag[0])) {
                    return new Attempt(0, false, new IOException(key + " in " + settings.url() + " changed while it "
                            + "was read (ETag " + etag[0] + ", then " + version + ")"), false, false);
                }
                while (dst.hasRemaining()) {
                    int n = connection.readBody(dst);
                    if (n < 0) {
                        keep = true;
                        return new Attempt(dst.position() - start, true, null, false, false);
                    }
                    arrived.accept(dst.position());
                }
                try {
                    keep = connection.readBody(ByteBuffer.allocate(1)) < 0; // a server that sent more is not reused
                } catch (IOException e) {
                    keep = false; // all asked for is here: only the connection is lost
                }
                return new Attempt(dst.position() - start, false, null, false, false);
            }
            if (status == 200) {
                return new Attempt(0, false, new IOException(calls.endpointName() + " answered the ranged read " + range
                        + " of " + key + " with the whole object and no Content-Range (it ignores Range requests): "
                        + "tmount needs an S3 server that serves byte ranges"), false, false);
            }
            String body = new String(connection.readSmallBody(64 * 1024), StandardCharsets.UTF_8);
            keep = true;
            if (status == 416) {
                return new Attempt(0, true, null, false, false); // the range starts at or past the end
            }
            String code = first(CODE, body);
            if (status == 404 && !"NoSuchBucket".equals(code)) {
                return new Attempt(0, false, new NoSuchObjectException(settings.url(), key), false, false);
            }
            boolean throttled = status == 429 || status == 503 || "SlowDown".equals(code);
            boolean retryable = throttled || status >= 500 || "RequestTimeout".equals(code)
                    || "ExpiredToken".equals(code);
            String message = first(MESSAGE, body);
            return new Attempt(0, false, calls.failure(what, status, code, (message != null ? message + " " : "")
                    + "(HTTP " + status + " " + head.reason() + ")", null), retryable, throttled);
        } catch (IOException e) {
            throwIfInterrupted(e);
            IOException failure = connection.aborted()
                    ? new IOException("nothing arrived for " + settings.attemptTimeout().toSeconds() + " s", e) : e;
            boolean stale = connection.failedStale() && !(e instanceof SocketTimeoutException);
            return new Attempt(dst.position() - start, false, failure, true, false, stale);
        } finally {
            if (keep) {
                pool.give(connection);
            } else {
                pool.discard(connection);
            }
        }
    }

    /** An interrupted reader stops at once: no retry, no backoff, nothing charged to the store. */
    private static void throwIfInterrupted(IOException e) throws InterruptedIOException {
        if (Thread.currentThread().isInterrupted() || e instanceof InterruptedIOException
                || e instanceof java.nio.channels.ClosedByInterruptException) {
            InterruptedIOException interrupted = new InterruptedIOException("interrupted while reading from S3");
            interrupted.initCause(e);
            throw interrupted;
        }
    }

    private SigV4.Credentials credentials(String what) throws S3Failure {
        AwsCredentials resolved;
        try {
            resolved = credentials.resolveCredentials();
        } catch (SdkException e) {
            throw new S3Failure("cannot " + what + ": no S3 credentials (" + e.getMessage() + ")", 0, e);
        }
        return new SigV4.Credentials(resolved.accessKeyId(), resolved.secretAccessKey(),
                resolved instanceof AwsSessionCredentials session ? session.sessionToken() : null);
    }

    /** As the SDK's standard strategy: full jitter after errors, equal jitter (at least half) after throttling. */
    private static void backoff(int failures, boolean throttled) throws IOException {
        long ceiling = Math.min(BACKOFF_CAP_MILLIS,
                (throttled ? THROTTLE_BASE_MILLIS : BACKOFF_BASE_MILLIS) << Math.min(20, failures - 1));
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(throttled ? ceiling / 2 : 0, ceiling + 1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to read from S3 again");
        }
    }

    private static String first(Pattern pattern, String text) {
        Matcher m = pattern.matcher(text);
        return m.find() ? m.group(1) : null;
    }

    @Override
    public void close() {
        pool.close();
    }
}
