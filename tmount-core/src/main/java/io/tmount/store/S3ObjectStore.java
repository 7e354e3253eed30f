package io.tmount.store;

import io.tmount.store.S3Calls.S3Failure;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * A template store in an S3-compatible bucket: ranged GETs for chunks, HEAD for sizes, multipart upload for large
 * objects. Every request has a timeout per attempt and is retried by the SDK's standard strategy (exponential backoff
 * with jitter on throttling, 5xx and connection errors); what still fails becomes an IOException that says what went
 * wrong (credentials, bucket, object, endpoint).
 */
final class S3ObjectStore implements ObjectStore {

    private static final Logger log = LoggerFactory.getLogger(S3ObjectStore.class);
    static final long MULTIPART_THRESHOLD = S3Uploads.MULTIPART_THRESHOLD;
    private static final int TRANSFER_BYTES = 1 << 20;

    private final S3Settings settings;
    /** Arrays a read into a direct buffer passes the body through, reused: one per GET was 1 MiB of garbage. */
    private final java.util.concurrent.ConcurrentLinkedQueue<byte[]> transfers = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final S3Client client;
    private final S3Calls calls;
    private final S3Uploads uploads;

    private S3ObjectStore(S3Settings settings, S3Client client) {
        this.settings = settings;
        this.client = client;
        this.calls = new S3Calls(settings);
        this.uploads = new S3Uploads(settings, client, calls, this::exists);
    }

    /** Builds the client and checks that the bucket is there and the credentials are accepted. */
    static S3ObjectStore open(S3Settings settings) throws IOException {
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(settings.region()))
                .forcePathStyle(settings.pathStyle())
                .credentialsProvider(settings.credentials() != null ? settings.credentials()
                        : DefaultCredentialsProvider.builder().build())
                // S3-compatible stores (S3Proxy, GCS's XML API, MinIO versions) do not all know the newer
                // integrity headers: send and check checksums only where S3 requires them.
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClientBuilder(ApacheHttpClient.builder()
                        .maxConnections(settings.maxConnections())
                        .connectionTimeout(min(settings.attemptTimeout(), Duration.ofSeconds(10)))
                        .socketTimeout(settings.attemptTimeout())
                        .connectionAcquisitionTimeout(settings.attemptTimeout()))
                // standard retries: exponential backoff with jitter on throttling (503 SlowDown), 5xx and I/O errors
                .overrideConfiguration(o -> o
                        .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
                                .maxAttempts(settings.maxAttempts()).build())
                        .apiCallAttemptTimeout(settings.attemptTimeout()));
        if (settings.endpoint() != null) {
            builder.endpointOverride(settings.endpoint());
        }
        S3Client client = builder.build();
        S3ObjectStore store = new S3ObjectStore(settings, client);
        try {
            try {
                store.call("check the bucket", () -> client.headBucket(b -> b.bucket(settings.bucket())));
            } catch (S3Failure e) {
                if (e.status != 403) {
                    throw e;
                }
                // a HEAD answer has no error code; a listing's says whether the credentials or the permissions fail
                store.call("list the bucket", () -> client.listObjectsV2(b -> b.bucket(settings.bucket()).maxKeys(1)));
            }
        } catch (IOException e) {
            client.close();
            throw e;
        }
        return store;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) < 0 ? a : b;
    }

    @Override
    public String url() {
        return settings.url();
    }

    @Override
    public boolean exists(String key) throws IOException {
        try {
            head(key);
            return true;
        } catch (NoSuchObjectException e) {
            return false;
        }
    }

    @Override
    public ObjectInfo info(String key) throws IOException {
        HeadObjectResponse head = head(key);
        return new ObjectInfo(head.contentLength(), head.eTag() + ":" + head.lastModified());
    }

    private HeadObjectResponse head(String key) throws IOException {
        try {
            return call("read the size of " + key, () -> client.headObject(b -> b.bucket(settings.bucket())
                    .key(settings.objectKey(key))));
        } catch (S3Failure e) {
            if (e.status == 404) {
                throw new NoSuchObjectException(url(), key);
            }
            throw e;
        }
    }

    /**
     * A ranged GET. The SDK retries a request that fails before its body arrives; a body that breaks off midway is
     * asked for again here, from where it stopped, up to the configured attempts.
     */
    @Override
    public int read(String key, long offset, ByteBuffer dst) throws IOException {
        return read(key, offset, dst, position -> {
        });
    }

    @Override
    public int read(String key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        int total = 0;
        for (int attempt = 1; ; attempt++) {
            BodyRead got = readOnce(key, offset + total, dst, arrived);
            total += got.bytes();
            if (got.broken() == null) {
                return got.ended() && total == 0 ? -1 : total;
            }
            if (attempt >= settings.maxAttempts()) {
                throw new IOException("reading " + key + " from " + url() + " broke off at byte " + (offset + total)
                        + " " + attempt + " times; last: " + got.broken().getMessage(), got.broken());
            }
            log.debug("reading {} broke off at byte {} ({}); asking again", key, offset + total, got.broken().getMessage());
            pause(attempt);
        }
    }

    /** What one GET delivered: bytes read, whether the object ended, and the error that broke the body off. */
    private record BodyRead(int bytes, boolean ended, IOException broken) {
    }

    private BodyRead readOnce(String key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        String range = "bytes=" + offset + "-" + (offset + dst.remaining() - 1);
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = call("read " + key + " " + range, () -> client.getObject(b -> b.bucket(settings.bucket())
                    .key(settings.objectKey(key)).range(range)));
        } catch (S3Failure e) {
            if (e.status == 416) {
                return new BodyRead(0, true, null); // the range starts at or past the end
            }
            if (e.status == 404) {
                throw new NoSuchObjectException(url(), key);
            }
            throw e;
        }
        String served = in.response().contentRange();
        if (served == null || !served.startsWith("bytes " + offset + "-")) {
            in.abort(); // a server ignoring Range sends the whole object: bytes from 0, not from the offset
            throw new IOException(calls.endpointName() + " answered the ranged read " + range + " of " + key + " with "
                    + (served == null ? "no Content-Range (it ignores Range requests)" : "range " + served)
                    + ": tmount needs an S3 server that serves byte ranges");
        }
        int total = 0;
        // Large reads: the HTTP client then reads the socket straight into the array instead of 8 KiB at a time
        // (a channel adapter over the stream would cost a system call per 8 KiB).
        byte[] transfer = dst.hasArray() ? dst.array() : takeTransfer();
        try (in) {
            while (dst.hasRemaining()) {
                int n;
                if (dst.hasArray()) {
                    n = in.read(transfer, dst.arrayOffset() + dst.position(), dst.remaining());
                    if (n > 0) {
                        dst.position(dst.position() + n);
                    }
                } else {
                    n = in.read(transfer, 0, Math.min(transfer.length, dst.remaining()));
                    if (n > 0) {
                        dst.put(transfer, 0, n);
                    }
                }
                if (n < 0) {
                    return new BodyRead(total, true, null);
                }
                total += n;
                arrived.accept(dst.position());
            }
            return new BodyRead(total, false, null);
        } catch (IOException e) {
            return new BodyRead(total, false, e); // a reset, a timeout, a body that ended before its length
        } catch (SdkClientException e) {
            return new BodyRead(total, false, new IOException(e.getMessage(), e));
        } finally {
            if (!dst.hasArray()) {
                giveTransfer(transfer);
            }
        }
    }

    private byte[] takeTransfer() {
        byte[] transfer = transfers.poll();
        return transfer != null ? transfer : new byte[TRANSFER_BYTES];
    }

    private void giveTransfer(byte[] transfer) {
        if (transfers.size() < settings.maxConnections()) {
            transfers.offer(transfer);
        }
    }

    private static void pause(int attempt) throws IOException {
        try {
            Thread.sleep(Math.min(2000, 100L << attempt));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while reading from S3");
        }
    }

    @Override
    public void download(String key, Path target) throws IOException {
        Files.deleteIfExists(target);
        try {
            call("download " + key, () -> client.getObject(b -> b.bucket(settings.bucket()).key(settings.objectKey(key)),
                    ResponseTransformer.toFile(target)));
        } catch (S3Failure e) {
            Files.deleteIfExists(target);
            if (e.status == 404) {
                throw new NoSuchObjectException(url(), key);
            }
            throw e;
        }
    }

    @Override
    public void upload(String key, Path source) throws IOException {
        uploads.upload(key, source, false);
    }

    @Override
    public void create(String key, Path source) throws IOException {
        uploads.upload(key, source, true);
    }

    @Override
    public void put(String key, byte[] content) throws IOException {
        put(key, content, false);
    }

    @Override
    public void create(String key, byte[] content) throws IOException {
        put(key, content, true);
    }

    private void put(String key, byte[] content, boolean createOnly) throws IOException {
        calls.createOnly(key, createOnly, () -> call("write " + key, () -> client.putObject(b -> b.bucket(settings.bucket())
                .key(settings.objectKey(key)).ifNoneMatch(createOnly ? "*" : null), RequestBody.fromBytes(content))));
    }

    @Override
    public byte[] get(String key) throws IOException {
        try {
            return call("read " + key, () -> client.getObjectAsBytes(b -> b.bucket(settings.bucket())
                    .key(settings.objectKey(key)))).asByteArray();
        } catch (S3Failure e) {
            if (e.status == 404) {
                throw new NoSuchObjectException(url(), key);
            }
            throw e;
        }
    }

    @Override
    public void delete(String key) throws IOException {
        call("delete " + key, () -> client.deleteObject(b -> b.bucket(settings.bucket()).key(settings.objectKey(key))));
    }

    @Override
    public List<String> folders() throws IOException {
        String prefix = settings.prefix().isEmpty() ? "" : settings.prefix() + "/";
        List<String> folders = new ArrayList<>();
        String token = null;
        do {
            String continuation = token;
            ListObjectsV2Response page = call("list the builds", () -> client.listObjectsV2(ListObjectsV2Request.builder()
                    .bucket(settings.bucket()).prefix(prefix).delimiter("/").continuationToken(continuation).build()));
            for (CommonPrefix common : page.commonPrefixes()) {
                String folder = common.prefix().substring(prefix.length());
                folders.add(folder.endsWith("/") ? folder.substring(0, folder.length() - 1) : folder);
            }
            token = page.isTruncated() ? page.nextContinuationToken() : null;
        } while (token != null);
        folders.sort(null);
        return folders;
    }

    private <T> T call(String what, Supplier<T> request) throws IOException {
        return calls.call(what, request);
    }

    @Override
    public void close() {
        client.close();
    }
}
