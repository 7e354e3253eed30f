package io.tmount.store.http;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class SigV4Test {

    /** AWS's worked example "GET Object" (S3 API reference, Signature Version 4, header-based authentication). */
    @Test
    void awsWorkedExample_getObjectWithRange() {
        Map<String, String> headers = new LinkedHashMap<>();
        headers.put("Host", "examplebucket.s3.amazonaws.com");
        headers.put("Range", "bytes=0-9");
        Map<String, String> signed = new SigV4("us-east-1", "s3").sign("GET", "/test.txt", headers,
                new SigV4.Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", null),
                Instant.parse("2013-05-24T00:00:00Z"));
        assertThat(signed.get("Authorization")).isEqualTo("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
                + "us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        assertThat(signed.get("x-amz-date")).isEqualTo("20130524T000000Z");
        assertThat(signed.get("x-amz-content-sha256")).isEqualTo(SigV4.EMPTY_SHA256);
        assertThat(signed).containsEntry("Host", "examplebucket.s3.amazonaws.com").containsEntry("Range", "bytes=0-9");
    }

    @Test
    void aSessionToken_isSentAndSigned() {
        Map<String, String> signed = new SigV4("eu-west-1", "s3").sign("GET", "/b/k", Map.of("Host", "h"),
                new SigV4.Credentials("id", "secret", "token/with+chars"), Instant.parse("2026-12-03T10:00:00Z"));
        assertThat(signed.get("x-amz-security-token")).isEqualTo("token/with+chars");
        assertThat(signed.get("Authorization")).contains("/20261203/eu-west-1/s3/aws4_request")
                .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
    }

    @Test
    void keysAreEncodedOnce_slashesKept() {
        assertThat(SigV4.encodePath("/bucket/a b+c=d&e%f/ü~._-/x"))
                .isEqualTo("/bucket/a%20b%2Bc%3Dd%26e%25f/%C3%BC~._-/x");
    }
}
