package io.tmount.testing;

import io.tmount.os.CommandResult;
import io.tmount.os.Commands;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;

/** Runs a host command in a test; fails the test with its output when it exits non-zero. */
public final class Run {

    private Run() {
    }

    public static CommandResult ok(String... command) {
        CommandResult result = any(command);
        if (!result.succeeded()) {
            throw new AssertionError("`" + String.join(" ", command) + "` exited with " + result.exitCode()
                    + "\nstdout: " + result.stdout() + "\nstderr: " + result.stderr());
        }
        return result;
    }

    public static CommandResult any(String... command) {
        try {
            return Commands.run(Duration.ofMinutes(2), List.of(command));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
