package io.tmount.store;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StoreLocationTest {

    private static final Path DEFAULT = Path.of("/var/lib/tmount/templates");

    @Test
    void fileUrl_isALocalStore() {
        assertThat(StoreLocation.parse("file:///srv/templates")).isEqualTo(new StoreLocation.Local(Path.of("/srv/templates")));
    }

    @Test
    void templateStorageUrl_winsOverTheLegacyVariables() {
        Map<String, String> env = Map.of("TEMPLATE_STORAGE_URL", "file:///a", "STORAGE_PROVIDER", "Local",
                "LOCAL_TEMPLATE_STORAGE_BASE_PATH", "/b");
        assertThat(StoreLocation.fromEnvironment(env, DEFAULT)).isEqualTo(new StoreLocation.Local(Path.of("/a")));
    }

    @Test
    void legacyLocalProvider_usesItsBasePath_orE2bsDefault() {
        assertThat(StoreLocation.fromEnvironment(Map.of("STORAGE_PROVIDER", "Local",
                "LOCAL_TEMPLATE_STORAGE_BASE_PATH", "/data/t"), DEFAULT)).isEqualTo(new StoreLocation.Local(Path.of("/data/t")));
        assertThat(StoreLocation.fromEnvironment(Map.of("STORAGE_PROVIDER", "Local"), DEFAULT))
                .isEqualTo(new StoreLocation.Local(Path.of("/tmp/templates")));
    }

    @Test
    void nothingConfigured_isTheDefaultUnderTheStateDir() {
        assertThat(StoreLocation.fromEnvironment(Map.of(), DEFAULT)).isEqualTo(new StoreLocation.Local(DEFAULT));
        assertThat(StoreLocation.fromEnvironment(Map.of("TEMPLATE_STORAGE_URL", " "), DEFAULT).url())
                .isEqualTo("file:///var/lib/tmount/templates");
    }

    @Test
    void unknownProvider_listsWhatIsAccepted() {
        assertThatThrownBy(() -> StoreLocation.fromEnvironment(Map.of("STORAGE_PROVIDER", "Azure"), DEFAULT))
                .hasMessageContaining("'Azure'").hasMessageContaining("accepted: Local").hasMessageContaining("file:///");
        assertThatThrownBy(() -> StoreLocation.fromEnvironment(Map.of("STORAGE_PROVIDER", "AWSBucket"), DEFAULT))
                .hasMessageContaining("STORAGE_PROVIDER=AWSBucket needs TEMPLATE_BUCKET_NAME");
    }

    @Test
    void s3Urls_carryEndpointRegionPathStyleAndLimits() {
        var env = Map.of("AWS_ACCESS_KEY_ID", "id", "AWS_SECRET_ACCESS_KEY", "secret");
        S3Settings s3 = ((StoreLocation.S3) StoreLocation.parse(
                "s3://templates/fleet/a?endpoint=http://127.0.0.1:9000&region=eu-west-1&s3ForcePathStyle=true"
                        + "&timeout=5s&attempts=2&connections=8", env)).settings();
        assertThat(s3.bucket()).isEqualTo("templates");
        assertThat(s3.prefix()).isEqualTo("fleet/a");
        assertThat(s3.endpoint()).hasToString("http://127.0.0.1:9000");
        assertThat(s3.region()).isEqualTo("eu-west-1");
        assertThat(s3.pathStyle()).isTrue();
        assertThat(s3.attemptTimeout()).hasSeconds(5);
        assertThat(s3.maxAttempts()).isEqualTo(2);
        assertThat(s3.maxConnections()).isEqualTo(8);
        assertThat(s3.credentials().resolveCredentials().accessKeyId()).isEqualTo("id");
        assertThat(s3.url()).isEqualTo("s3://templates/fleet/a?endpoint=http://127.0.0.1:9000");
        S3Settings plain = ((StoreLocation.S3) StoreLocation.parse("s3://templates?use_path_style=true", Map.of())).settings();
        assertThat(plain.region()).isEqualTo("us-east-1");
        assertThat(plain.endpoint()).isNull();
        assertThat(plain.pathStyle()).isTrue();
        assertThat(plain.credentials()).isNull(); // the SDK's default chain
    }

    @Test
    void gcs_goesThroughItsS3CompatibleApi() {
        S3Settings gs = ((StoreLocation.S3) StoreLocation.parse("gs://e2b-templates", Map.of())).settings();
        assertThat(gs.endpoint()).hasToString("https://storage.googleapis.com");
        assertThat(gs.region()).isEqualTo("auto");
        assertThat(gs.pathStyle()).isTrue();
        S3Settings legacy = ((StoreLocation.S3) StoreLocation.fromEnvironment(Map.of("STORAGE_PROVIDER", "GCPBucket",
                "TEMPLATE_BUCKET_NAME", "e2b-templates"), DEFAULT)).settings();
        assertThat(legacy).isEqualTo(gs);
    }

    @Test
    void legacyAwsBucket_readsBucketRegionAndPathStyle() {
        S3Settings s3 = ((StoreLocation.S3) StoreLocation.fromEnvironment(Map.of("STORAGE_PROVIDER", "AWSBucket",
                "TEMPLATE_BUCKET_NAME", "tpl", "S3_USE_PATH_STYLE", "true", "AWS_REGION", "eu-central-1"), DEFAULT)).settings();
        assertThat(s3.bucket()).isEqualTo("tpl");
        assertThat(s3.region()).isEqualTo("eu-central-1");
        assertThat(s3.pathStyle()).isTrue();
        assertThat(s3.endpoint()).isNull();
    }

    @Test
    void malformedOrUnsupportedUrls_sayWhatIsAccepted() {
        assertThatThrownBy(() -> StoreLocation.parse("file://host/x")).hasMessageContaining("file:///absolute/path");
        assertThatThrownBy(() -> StoreLocation.parse("ftp://x")).hasMessageContaining("unknown scheme 'ftp'");
        assertThatThrownBy(() -> StoreLocation.parse("s3://bucket?colour=blue"))
                .hasMessageContaining("unknown parameter 'colour'").hasMessageContaining("endpoint");
        assertThatThrownBy(() -> StoreLocation.parse("s3://Bad_Bucket!")).hasMessageContaining("S3 bucket name 'Bad_Bucket!' is invalid");
        assertThatThrownBy(() -> StoreLocation.parse("s3://b?endpoint=ftp://x")).hasMessageContaining("must be an http(s) URL");
        assertThatThrownBy(() -> StoreLocation.parse("s3://bucket?timeout=soon")).hasMessageContaining("not a duration");
        assertThatThrownBy(() -> StoreLocation.parse("file:///a b|c")).hasMessageContaining("malformed");
        assertThatThrownBy(() -> StoreLocation.parse("/just/a/path")).hasMessageContaining("unknown scheme");
    }
}
