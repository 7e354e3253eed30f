package io.tmount.store;

import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * Runs S3 requests and turns the SDK's exceptions into {@link S3Failure}s that say what went wrong (credentials,
 * permissions, bucket, object, endpoint), with the HTTP status when the service answered.
 */
final class S3Calls {

    /** An S3 request that failed after its retries, with the HTTP status when the service answered (0 when not). */
    static final class S3Failure extends IOException {
        final int status;

        S3Failure(String message, int status, Throwable cause) {
            super(message, cause);
            this.status = status;
        }
    }

    /** A write that may be create-only. */
    interface Write {
        void run() throws IOException;
    }

    private final S3Settings settings;

    S3Calls(S3Settings settings) {
        this.settings = settings;
    }

    /** Runs a write; a create-only one refused because the key exists is {@link ObjectExistsException}. */
    void createOnly(String key, boolean createOnly, Write write) throws IOException {
        try {
            write.run();
        } catch (S3Failure e) {
            // 412: the object exists; 409: another conditional write of the key is in progress
            if (createOnly && (e.status == 412 || e.status == 409)) {
                throw new ObjectExistsException(settings.url(), key);
            }
            throw e;
        }
    }

    /** Runs a request; {@code what} says what it does, for the message. */
    <T> T call(String what, Supplier<T> request) throws IOException {
        try {
            return request.get();
        } catch (NoSuchBucketException e) {
            throw new S3Failure("S3 bucket '" + settings.bucket() + "' does not exist at " + endpointName(), 404, e);
        } catch (NoSuchKeyException e) {
            throw new S3Failure("cannot " + what + ": no such object in " + settings.url(), 404, e);
        } catch (S3Exception e) {
            throw failure(what, e.statusCode(), e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode(),
                    e.getMessage(), e);
        } catch (AwsServiceException e) {
            throw new S3Failure("cannot " + what + " in " + settings.url() + ": " + firstLine(e.getMessage()),
                    e.statusCode(), e);
        } catch (SdkClientException e) {
            throw new S3Failure("cannot " + what + ": " + endpointName() + " did not answer (" + firstLine(e.getMessage())
                    + ")", 0, e);
        } catch (SdkException e) {
            throw new S3Failure("cannot " + what + " in " + settings.url() + ": " + firstLine(e.getMessage()), 0, e);
        }
    }

    /**
     * What an error answer means: the service answered {@code status} with the error {@code code} (null or empty when
     * the answer had none, as HEAD answers) and {@code message}.
     */
    S3Failure failure(String what, int status, String code, String message, Throwable cause) {
        if ("NoSuchBucket".equals(code)) {
            return new S3Failure("S3 bucket '" + settings.bucket() + "' does not exist at " + endpointName(), 404, cause);
        }
        if ("NoSuchKey".equals(code)) {
            return new S3Failure("cannot " + what + ": no such object in " + settings.url(), 404, cause);
        }
        if ("InvalidAccessKeyId".equals(code) || "SignatureDoesNotMatch".equals(code)) {
            return new S3Failure("S3 refused the credentials for bucket '" + settings.bucket() + "' at "
                    + endpointName() + " (" + code + "): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the "
                    + "SDK's default credential chain)", status, cause);
        }
        if (status == 403) {
            // HEAD answers carry no error code, and without s3:ListBucket S3 answers 403 for a missing object
            return new S3Failure("S3 denied access (" + (code == null || code.isEmpty() ? "HTTP 403" : code)
                    + ") when trying to " + what + " in bucket '" + settings.bucket() + "' at " + endpointName()
                    + ": the credentials are wrong or lack permission (tmount needs s3:ListBucket on the bucket, "
                    + "s3:GetObject, and s3:PutObject/s3:DeleteObject to store builds)", status, cause);
        }
        if (status == 404 && (code == null || code.isEmpty()) && what.equals("check the bucket")) {
            return new S3Failure("S3 bucket '" + settings.bucket() + "' does not exist at " + endpointName(), 404, cause);
        }
        return new S3Failure("cannot " + what + " in " + settings.url() + ": " + (code == null ? "" : code + ": ")
                + firstLine(message), status, cause);
    }

    /** A request that got no answer after its attempts. */
    S3Failure unanswered(String what, Throwable cause) {
        return new S3Failure("cannot " + what + ": " + endpointName() + " did not answer (" + firstLine(cause.toString())
                + ")", 0, cause);
    }

    String endpointName() {
        return settings.endpoint() != null ? settings.endpoint().toString() : "S3 in " + settings.region();
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "(no message)";
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
