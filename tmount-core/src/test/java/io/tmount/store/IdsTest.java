package io.tmount.store;

import io.tmount.TmountException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IdsTest {

    @ParameterizedTest
    @ValueSource(strings = {"base", "my-template_1", "build-abc123", "4f1c8a8e-6f7b-4c1e-9d5e-1b2c3d4e5f60", "v1.2"})
    void validIds_areAccepted(String id) {
        assertThat(TemplateId.of(id).value()).isEqualTo(id);
        assertThat(BuildId.of(id).value()).isEqualTo(id);
    }

    @ParameterizedTest
    @ValueSource(strings = {"a/b", "..", "a..b", ".hidden", "-flag", "with space", "tab\there", "new\nline", "é"})
    void unsafeIds_areRefusedNamingTheRule(String id) {
        assertThatThrownBy(() -> BuildId.of(id))
                .isInstanceOf(TmountException.class)
                .hasMessageContaining("build id")
                .hasMessageContaining("no '/', no '..'")
                .satisfies(e -> assertThat(((TmountException) e).kind()).isEqualTo(TmountException.Kind.INVALID_ARGUMENT));
    }

    @Test
    void controlCharacters_areShownEscaped() {
        assertThatThrownBy(() -> TemplateId.of("bad\u0007id")).hasMessageContaining("bad\\u0007id");
    }

    @Test
    void lengthIsBounded() {
        assertThat(BuildId.of("a".repeat(128)).value()).hasSize(128);
        assertThatThrownBy(() -> BuildId.of("a".repeat(129))).hasMessageContaining("too long").hasMessageContaining("128");
    }

    @Test
    void missingId_saysSo() {
        assertThatThrownBy(() -> TemplateId.of(null)).hasMessage("template id is missing");
        assertThatThrownBy(() -> BuildId.of("")).hasMessage("build id is missing");
    }

    @Test
    void randomBuildIds_areUuids() {
        assertThat(BuildId.random().value()).matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
    }
}
