package io.tmount.store;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CompletedPart;

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

/**
 * Uploads of files to S3: one PUT up to {@link #MULTIPART_THRESHOLD}, a multipart upload (a few parts in flight)
 * above. Create-only uploads send {@code If-None-Match: *}, so S3 refuses (412) to replace an existing object.
 */
final class S3Uploads {

    private static final Logger log = LoggerFactory.getLogger(S3Uploads.class);
    static final long MULTIPART_THRESHOLD = 64L << 20;
    private static final int PARALLEL_PARTS = 4;
    private static final int MAX_PARTS = 10_000;

    /** Whether an object exists, for servers that ignore If-None-Match on a multipart completion. */
    interface Existence {
        boolean exists(String key) throws IOException;
    }

    private final S3Settings settings;
    private final S3Client client;
    private final S3Calls calls;
    private final Existence existence;

    S3Uploads(S3Settings settings, S3Client client, S3Calls calls, Existence existence) {
        this.settings = settings;
        this.client = client;
        this.calls = calls;
        this.existence = existence;
    }

    void upload(String key, Path source, boolean createOnly) throws IOException {
        long size = Files.size(source);
        if (size <= MULTIPART_THRESHOLD) {
            calls.createOnly(key, createOnly, () -> calls.call("upload " + key, () -> client.putObject(b -> b
                    .bucket(settings.bucket()).key(settings.objectKey(key)).ifNoneMatch(createOnly ? "*" : null)
                    .overrideConfiguration(o -> o.apiCallAttemptTimeout(uploadTimeout(size))),
                    RequestBody.fromFile(source))));
            return;
        }
        uploadMultipart(key, source, size, createOnly);
    }

    /**
     * The attempt timeout covers sending the body too: uploads get the configured timeout plus a second per MiB, so
     * a 64 MiB part still fits on a 1 MiB/s link (with 4 parts in flight, about 35 Mbit/s) instead of timing out
     * on every attempt.
     */
    Duration uploadTimeout(long bytes) {
        return settings.attemptTimeout().plusSeconds((bytes + (1 << 20) - 1) >> 20);
    }

    /** Parts of at least 64 MiB (more for huge objects: S3 allows 10,000 parts), a few in flight at once. */
    private void uploadMultipart(String key, Path source, long size, boolean createOnly) throws IOException {
        long partSize = Math.max(MULTIPART_THRESHOLD, ((size + MAX_PARTS - 1) / MAX_PARTS + (1 << 20) - 1) >> 20 << 20);
        int parts = (int) ((size + partSize - 1) / partSize);
        String objectKey = settings.objectKey(key);
        String uploadId = calls.call("start a multipart upload of " + key, () -> client.createMultipartUpload(
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
                        String etag = calls.call("upload part " + number + " of " + key, () -> client.uploadPart(
                                b -> b.bucket(settings.bucket()).key(objectKey).uploadId(uploadId).partNumber(number)
                                        .overrideConfiguration(o -> o.apiCallAttemptTimeout(uploadTimeout(length))),
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
            if (createOnly && existence.exists(key)) {
                // some S3-compatible servers (S3Proxy among them) ignore If-None-Match on the completion below
                throw new ObjectExistsException(settings.url(), key);
            }
            calls.createOnly(key, createOnly, () -> calls.call("complete the multipart upload of " + key, () -> client
                    .completeMultipartUpload(b -> b.bucket(settings.bucket()).key(objectKey).uploadId(uploadId)
                            .ifNoneMatch(createOnly ? "*" : null).multipartUpload(m -> m.parts(completed)))));
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
}
