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
                .hasMessageContaining("AWSBucket").hasMessageContaining("not available");
    }

    @Test
    void malformedOrUnsupportedUrls_sayWhatIsAccepted() {
        assertThatThrownBy(() -> StoreLocation.parse("file://host/x")).hasMessageContaining("file:///absolute/path");
        assertThatThrownBy(() -> StoreLocation.parse("ftp://x")).hasMessageContaining("unknown scheme 'ftp'");
        assertThatThrownBy(() -> StoreLocation.parse("s3://bucket")).hasMessageContaining("s3 provider is not available");
        assertThatThrownBy(() -> StoreLocation.parse("file:///a b|c")).hasMessageContaining("malformed");
        assertThatThrownBy(() -> StoreLocation.parse("/just/a/path")).hasMessageContaining("unknown scheme");
    }
}
