package io.tmount.mount;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TeardownTest {

    @Test
    void runsStepsInReverse_evenWhenOneFails_andKeepsTheFirstFailure() {
        List<String> ran = new ArrayList<>();
        Teardown teardown = new Teardown();
        teardown.push("first", () -> ran.add("first"));
        teardown.push("second", () -> {
            ran.add("second");
            throw new IOException("second broke");
        });
        teardown.push("third", () -> {
            ran.add("third");
            throw new IllegalStateException("third broke");
        });
        assertThatThrownBy(teardown::close)
                .hasMessage("cannot third: third broke")
                .satisfies(e -> assertThat(e.getSuppressed()).singleElement()
                        .satisfies(s -> assertThat(s).hasMessage("cannot second: second broke")));
        assertThat(ran).containsExactly("third", "second", "first");
    }

    @Test
    void closeOnto_addsFailuresToThePrimaryError() {
        Teardown teardown = new Teardown();
        teardown.push("release", () -> {
            throw new IOException("nope");
        });
        RuntimeException primary = new RuntimeException("mount failed");
        teardown.closeOnto(primary);
        assertThat(primary.getSuppressed()).singleElement().satisfies(s -> assertThat(s).hasMessageContaining("nope"));
    }

    @Test
    void closingTwice_runsNothingTwice() throws IOException {
        List<String> ran = new ArrayList<>();
        Teardown teardown = new Teardown();
        teardown.push("once", () -> ran.add("once"));
        teardown.close();
        teardown.close();
        assertThat(ran).containsExactly("once");
    }
}
