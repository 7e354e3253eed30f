package io.tmount.store;

import io.tmount.store.S3Calls.S3Failure;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CommonPrefix;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * A template store in an S3-compatible bucket: ranged GETs for chunks ({@link S3RangeReads}, tmount's own HTTP
 * client), HEAD for sizes, multipart upload for large objects (the SDK). Every request has a timeout per attempt and
 * is retried (exponential backoff with jitter on throttling, 5xx and connection errors); what still fails becomes an
 * IOException that says what went wrong (credentials, bucket, object, endpoint).
 */
final class S3ObjectStore implements ObjectStore {

    static final long MULTIPART_THRESHOLD = S3Uploads.MULTIPART_THRESHOLD;

    private final S3Settings settings;
    private final S3Client client;
    private final S3Calls calls;
    private final S3Uploads uploads;
    private final S3RangeReads reads;

    private S3ObjectStore(S3Settings settings, S3Client client, AwsCredentialsProvider credentials, SSLContext tls) {
        this.settings = settings;
        this.client = client;
        this.calls = new S3Calls(settings);
        this.reads = new S3RangeReads(settings, credentials, tls, calls);
        this.uploads = new S3Uploads(settings, client, calls, this::exists);
    }

    /** Builds the client and checks that the bucket is there and the credentials are accepted. */
    static S3ObjectStore open(S3Settings settings) throws IOException {
        try {
            return open(settings, SSLContext.getDefault());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IOException("this JVM has no default TLS context", e);
        }
    }

    /** As {@link #open(S3Settings)}, with {@code tls} for the ranged reads over HTTPS (tests: a private CA). */
    static S3ObjectStore open(S3Settings settings, SSLContext tls) throws IOException {
        AwsCredentialsProvider credentials = settings.credentials() != null ? settings.credentials()
                : DefaultCredentialsProvider.builder().build();
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(settings.region()))
                .forcePathStyle(settings.pathStyle())
                .credentialsProvider(credentials)
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
        S3ObjectStore store = new S3ObjectStore(settings, client, credentials, tls);
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
            store.close();
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

    /** A ranged GET, through {@link S3RangeReads}. */
    @Override
    public int read(String key, long offset, ByteBuffer dst) throws IOException {
        return reads.read(key, offset, dst, position -> {
        });
    }

    @Override
    public int read(String key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        return reads.read(key, offset, dst, arrived);
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
    public List<String> keys(String folder) throws IOException {
        String base = settings.prefix().isEmpty() ? "" : settings.prefix() + "/";
        String prefix = base + folder + "/";
        List<String> keys = new ArrayList<>();
        String token = null;
        do {
            String continuation = token;
            ListObjectsV2Response page = call("list " + folder, () -> client.listObjectsV2(ListObjectsV2Request.builder()
                    .bucket(settings.bucket()).prefix(prefix).delimiter("/").continuationToken(continuation).build()));
            for (var object : page.contents()) {
                keys.add(object.key().substring(base.length()));
            }
            token = page.isTruncated() ? page.nextContinuationToken() : null;
        } while (token != null);
        keys.sort(null);
        return keys;
    }

    @Override
    public List<String> folders() throws IOException {
        return foldersUnder("");
    }

    @Override
    public List<String> folders(String folder) throws IOException {
        return foldersUnder(folder + "/");
    }

    private List<String> foldersUnder(String under) throws IOException {
        String prefix = (settings.prefix().isEmpty() ? "" : settings.prefix() + "/") + under;
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
        reads.close();
        client.close();
    }
}
