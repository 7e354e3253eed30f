package io.tmount.store;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

/**
 * A template store in an S3-compatible bucket: ranged GETs for chunks, HEAD for sizes, multipart upload for large
 * objects. Every request has a timeout per attempt and is retried by the SDK's standard strategy (exponential backoff
 * with jitter on throttling, 5xx and connection errors); what still fails becomes an IOException that says what went
 * wrong (credentials, bucket, object, endpoint).
 */
final class S3ObjectStore implements ObjectStore {

    private static final Logger log = LoggerFactory.getLogger(S3ObjectStore.class);
    static final long MULTIPART_THRESHOLD = 64L << 20;
    private static final int PARALLEL_PARTS = 4;
    private static final int MAX_PARTS = 10_000;
    private static final int TRANSFER_BYTES = 1 << 20;

    private final S3Settings settings;
    private final S3Client client;

    private S3ObjectStore(S3Settings settings, S3Client client) {
        this.settings = settings;
        this.client = client;
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
            store.call("check the bucket", () -> client.headBucket(b -> b.bucket(settings.bucket())));
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

    @Override
    public int read(String key, long offset, ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        String range = "bytes=" + offset + "-" + (offset + dst.remaining() - 1);
        ResponseInputStream<GetObjectResponse> in;
        try {
            in = call("read " + key + " " + range, () -> client.getObject(b -> b.bucket(settings.bucket())
                    .key(settings.objectKey(key)).range(range)));
        } catch (S3Failure e) {
            if (e.status == 416) {
                return -1; // the range starts at or past the end
            }
            if (e.status == 404) {
                throw new NoSuchObjectException(url(), key);
            }
            throw e;
        }
        int total = 0;
        // Large reads: the HTTP client then reads the socket straight into the array instead of 8 KiB at a time
        // (a channel adapter over the stream would cost a system call per 8 KiB).
        byte[] transfer = dst.hasArray() ? dst.array() : new byte[Math.min(dst.remaining(), TRANSFER_BYTES)];
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
                    break;
                }
                total += n;
            }
        } catch (IOException e) {
            throw new IOException("reading " + key + " " + range + " from " + url() + " broke off: " + e.getMessage(), e);
        }
        return total == 0 ? -1 : total;
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
        long size = Files.size(source);
        if (size <= MULTIPART_THRESHOLD) {
            call("upload " + key, () -> client.putObject(b -> b.bucket(settings.bucket()).key(settings.objectKey(key)),
                    RequestBody.fromFile(source)));
            return;
        }
        uploadMultipart(key, source, size);
    }

    /** Parts of at least 64 MiB (more for huge objects: S3 allows 10,000 parts), a few in flight at once. */
    private void uploadMultipart(String key, Path source, long size) throws IOException {
        long partSize = Math.max(MULTIPART_THRESHOLD, ((size + MAX_PARTS - 1) / MAX_PARTS + (1 << 20) - 1) >> 20 << 20);
        int parts = (int) ((size + partSize - 1) / partSize);
        String objectKey = settings.objectKey(key);
        String uploadId = call("start a multipart upload of " + key, () -> client.createMultipartUpload(
                b -> b.bucket(settings.bucket()).key(objectKey))).uploadId();
        Semaphore inFlight = new Semaphore(PARALLEL_PARTS);
        try (ExecutorService uploads = Executors.newVirtualThreadPerTaskExecutor();
             FileChannel file = FileChannel.open(source, StandardOpenOption.READ)) {
            List<Future<CompletedPart>> done = new ArrayList<>();
            for (int i = 0; i < parts; i++) {
                int number = i + 1;
                long offset = i * partSize;
                int length = (int) Math.min(partSize, size - offset);
                inFlight.acquireUninterruptibly();
                done.add(uploads.submit(() -> {
                    try {
                        ByteBuffer part = ByteBuffer.allocate(length);
                        while (part.hasRemaining()) {
                            file.read(part, offset + part.position());
                        }
                        part.flip();
                        String etag = call("upload part " + number + " of " + key, () -> client.uploadPart(
                                b -> b.bucket(settings.bucket()).key(objectKey).uploadId(uploadId).partNumber(number),
                                RequestBody.fromByteBuffer(part))).eTag();
                        return CompletedPart.builder().partNumber(number).eTag(etag).build();
                    } finally {
                        inFlight.release();
                    }
                }));
            }
            List<CompletedPart> completed = new ArrayList<>();
            for (Future<CompletedPart> part : done) {
                completed.add(part.get());
            }
            call("complete the multipart upload of " + key, () -> client.completeMultipartUpload(b -> b
                    .bucket(settings.bucket()).key(objectKey).uploadId(uploadId)
                    .multipartUpload(m -> m.parts(completed))));
        } catch (IOException | InterruptedException | ExecutionException | RuntimeException e) {
            try {
                client.abortMultipartUpload(b -> b.bucket(settings.bucket()).key(objectKey).uploadId(uploadId));
            } catch (SdkException abort) {
                log.warn("cannot abort the multipart upload of {}: {}", key, abort.getMessage());
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = e instanceof ExecutionException ee ? ee.getCause() : e;
            throw cause instanceof IOException io ? io : new IOException("multipart upload of " + key + " failed: "
                    + cause.getMessage(), cause);
        }
    }

    @Override
    public void put(String key, byte[] content) throws IOException {
        call("write " + key, () -> client.putObject(b -> b.bucket(settings.bucket()).key(settings.objectKey(key)),
                RequestBody.fromBytes(content)));
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

    /** An S3 request that failed after its retries, with the HTTP status when the service answered. */
    static final class S3Failure extends IOException {
        final int status;

        S3Failure(String message, int status, Throwable cause) {
            super(message, cause);
            this.status = status;
        }
    }

    /** Runs a request; turns the SDK's exceptions into IOExceptions that name what is wrong. */
    private <T> T call(String what, Supplier<T> request) throws IOException {
        try {
            return request.get();
        } catch (NoSuchBucketException e) {
            throw new S3Failure("S3 bucket '" + settings.bucket() + "' does not exist at " + endpointName(), 404, e);
        } catch (NoSuchKeyException e) {
            throw new S3Failure("cannot " + what + ": no such object in " + url(), 404, e);
        } catch (S3Exception e) {
            String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
            int status = e.statusCode();
            if (status == 403 || "InvalidAccessKeyId".equals(code) || "SignatureDoesNotMatch".equals(code)) {
                throw new S3Failure("S3 refused the credentials for bucket '" + settings.bucket() + "' at "
                        + endpointName() + " (" + (code == null ? "HTTP " + status : code) + "): check AWS_ACCESS_KEY_ID "
                        + "and AWS_SECRET_ACCESS_KEY (or the SDK's default credential chain)", status, e);
            }
            if (status == 404 && (code == null || code.isEmpty()) && what.equals("check the bucket")) {
                throw new S3Failure("S3 bucket '" + settings.bucket() + "' does not exist at " + endpointName(), 404, e);
            }
            throw new S3Failure("cannot " + what + " in " + url() + ": " + (code == null ? "" : code + ": ")
                    + firstLine(e.getMessage()), status, e);
        } catch (AwsServiceException e) {
            throw new S3Failure("cannot " + what + " in " + url() + ": " + firstLine(e.getMessage()), e.statusCode(), e);
        } catch (SdkClientException e) {
            throw new S3Failure("cannot " + what + ": " + endpointName() + " did not answer (" + firstLine(e.getMessage())
                    + ")", 0, e);
        } catch (SdkException e) {
            throw new S3Failure("cannot " + what + " in " + url() + ": " + firstLine(e.getMessage()), 0, e);
        }
    }

    private String endpointName() {
        return settings.endpoint() != null ? settings.endpoint().toString() : "S3 in " + settings.region();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    @Override
    public void close() {
        client.close();
    }
}
