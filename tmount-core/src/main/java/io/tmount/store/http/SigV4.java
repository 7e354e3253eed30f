package io.tmount.store.http;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * AWS Signature Version 4 for S3 requests without a body (header-based, as in AWS's "Signature Calculations for the
 * Authorization Header"). The signing key changes once a day; it is kept until then.
 */
public final class SigV4 {

    /** SHA-256 of an empty payload, which a GET signs. */
    public static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);
    private static final HexFormat HEX = HexFormat.of();

    private final String region;
    private final String service;
    private volatile SigningKey key;

    /** The key of one day, for one secret. */
    private record SigningKey(String secret, String date, byte[] bytes) {
    }

    /** Access key, secret and (for temporary credentials) session token. */
    public record Credentials(String accessKeyId, String secret, String sessionToken) {
    }

    public SigV4(String region, String service) {
        this.region = region;
        this.service = service;
    }

    /**
     * Signs a request without a body: returns {@code headers} with x-amz-date, x-amz-content-sha256, the session token
     * if any, and Authorization added. {@code headers} must hold Host; names are sent as given, signed lower-cased.
     */
    public Map<String, String> sign(String method, String canonicalPath, Map<String, String> headers,
                                    Credentials credentials, Instant now) {
        String stamp = STAMP.format(now);
        String date = stamp.substring(0, 8);
        TreeMap<String, String> signed = new TreeMap<>();
        headers.forEach((name, value) -> signed.put(name.toLowerCase(java.util.Locale.ROOT), value.trim()));
        signed.put("x-amz-content-sha256", EMPTY_SHA256);
        signed.put("x-amz-date", stamp);
        if (credentials.sessionToken() != null) {
            signed.put("x-amz-security-token", credentials.sessionToken());
        }
        StringBuilder canonical = new StringBuilder(256).append(method).append('\n').append(canonicalPath)
                .append("\n\n");
        signed.forEach((name, value) -> canonical.append(name).append(':').append(value).append('\n'));
        String signedNames = String.join(";", signed.keySet());
        canonical.append('\n').append(signedNames).append('\n').append(EMPTY_SHA256);
        String scope = date + "/" + region + "/" + service + "/aws4_request";
        String toSign = "AWS4-HMAC-SHA256\n" + stamp + "\n" + scope + "\n" + HEX.formatHex(sha256(canonical.toString()));
        String signature = HEX.formatHex(hmac(signingKey(credentials.secret(), date), toSign));
        TreeMap<String, String> out = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        out.putAll(headers);
        out.put("x-amz-content-sha256", EMPTY_SHA256);
        out.put("x-amz-date", stamp);
        if (credentials.sessionToken() != null) {
            out.put("x-amz-security-token", credentials.sessionToken());
        }
        out.put("Authorization", "AWS4-HMAC-SHA256 Credential=" + credentials.accessKeyId() + "/" + scope
                + ", SignedHeaders=" + signedNames + ", Signature=" + signature);
        return out;
    }

    /**
     * The canonical (and sent) path of an S3 key: each byte outside RFC 3986's unreserved set percent-encoded, '/'
     * kept. S3 takes the path encoded once, unlike other services.
     */
    public static String encodePath(String path) {
        byte[] bytes = path.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder(bytes.length + 16);
        for (byte b : bytes) {
            int c = b & 0xff;
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 15, 16)));
            }
        }
        return out.toString();
    }

    private byte[] signingKey(String secret, String date) {
        SigningKey current = key;
        if (current == null || !current.date().equals(date) || !current.secret().equals(secret)) {
            byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
            k = hmac(k, region);
            k = hmac(k, service);
            current = new SigningKey(secret, date, hmac(k, "aws4_request"));
            key = current;
        }
        return current.bytes();
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    private static byte[] sha256(String data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
