package io.tmount.store;

import io.tmount.TmountException;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where and how to reach an S3-compatible bucket: the bucket and an optional key prefix, the endpoint (null: AWS's
 * own, from the region), the region, path-style addressing, credentials (null: the SDK's default chain), and the
 * limits every request runs under: a timeout per attempt, a number of attempts (retried with exponential backoff and
 * jitter on throttling, 5xx and connection errors), and the size of the connection pool.
 */
public record S3Settings(String bucket, String prefix, URI endpoint, String region, boolean pathStyle,
                         AwsCredentialsProvider credentials, Duration attemptTimeout, int maxAttempts,
                         int maxConnections) {

    public static final String GCS_ENDPOINT = "https://storage.googleapis.com";
    public static final Duration DEFAULT_ATTEMPT_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_ATTEMPTS = 4;
    public static final int DEFAULT_CONNECTIONS = 64;

    private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]");
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m)");

    public S3Settings {
        if (bucket == null || !BUCKET.matcher(bucket).matches()) {
            throw TmountException.invalid("S3 bucket name '%s' is invalid: 3-63 lower-case letters, digits, '.', '_' "
                    + "or '-', starting and ending with a letter or digit", bucket);
        }
        prefix = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
        if (attemptTimeout == null || attemptTimeout.isNegative() || attemptTimeout.isZero()) {
            throw TmountException.invalid("S3 request timeout (%s) must be positive", attemptTimeout);
        }
        if (maxAttempts < 1 || maxAttempts > 20) {
            throw TmountException.invalid("S3 attempts (%d) must be between 1 and 20", maxAttempts);
        }
        if (maxConnections < 1 || maxConnections > 1024) {
            throw TmountException.invalid("S3 connections (%d) must be between 1 and 1024", maxConnections);
        }
    }

    /** The store's URL, as it was given (without credentials). */
    public String url() {
        StringBuilder url = new StringBuilder("s3://").append(bucket);
        if (!prefix.isEmpty()) {
            url.append('/').append(prefix);
        }
        if (endpoint != null) {
            url.append("?endpoint=").append(endpoint);
        }
        return url.toString();
    }

    /** The object key of a store key: under the prefix, if any. */
    String objectKey(String key) {
        return prefix.isEmpty() ? key : prefix + "/" + key;
    }

    public S3Settings withCredentials(AwsCredentialsProvider provider) {
        return new S3Settings(bucket, prefix, endpoint, region, pathStyle, provider, attemptTimeout, maxAttempts,
                maxConnections);
    }

    public S3Settings withLimits(Duration timeout, int attempts, int connections) {
        return new S3Settings(bucket, prefix, endpoint, region, pathStyle, credentials, timeout, attempts, connections);
    }

    /**
     * Static credentials when the environment names them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optionally
     * AWS_SESSION_TOKEN), else null: the SDK's default chain (profiles, web identity, container and instance roles).
     */
    static AwsCredentialsProvider credentialsFrom(Map<String, String> env) {
        String id = env.get("AWS_ACCESS_KEY_ID");
        String secret = env.get("AWS_SECRET_ACCESS_KEY");
        if (id == null || id.isBlank() || secret == null || secret.isBlank()) {
            return null;
        }
        String token = env.get("AWS_SESSION_TOKEN");
        return StaticCredentialsProvider.create(token == null || token.isBlank()
                ? AwsBasicCredentials.create(id, secret) : AwsSessionCredentials.create(id, secret, token));
    }

    /** The region: as given, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 (what S3-compatible stores expect). */
    static String regionFrom(String given, Map<String, String> env) {
        for (String candidate : new String[]{given, env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION")}) {
            if (candidate != null && !candidate.isBlank()) {
                return candidate.trim();
            }
        }
        return "us-east-1";
    }

    static Duration parseDuration(String name, String text) {
        Matcher m = DURATION.matcher(text.trim());
        if (!m.matches()) {
            throw TmountException.invalid("%s '%s' is not a duration: use e.g. 500ms, 30s or 2m", name, text);
        }
        long value = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(value);
            case "s" -> Duration.ofSeconds(value);
            default -> Duration.ofMinutes(value);
        };
    }
}
