package io.tmount.os;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs short-lived helper commands (losetup, mount, mkfs.ext4 …) with a time limit. */
public final class Commands {

    private Commands() {
    }

    /** Runs a command and returns its result whatever the exit code; fails only if it cannot run or times out. */
    public static CommandResult run(Duration timeout, List<String> command) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.PIPE);
        builder.environment().put("LC_ALL", "C"); // messages are matched ("busy") and quoted: keep them in English
        Process process = builder.start();
        process.getOutputStream().close();
        Future<String> stdout = drain(process.getInputStream());
        Future<String> stderr = drain(process.getErrorStream());
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                CommandResult partial = new CommandResult(command, -1, "", "");
                throw new CommandFailedException(partial,
                        "`" + String.join(" ", command) + "` did not finish within " + timeout.toSeconds() + " s");
            }
            return new CommandResult(command, process.exitValue(),
                    stdout.get(5, TimeUnit.SECONDS), stderr.get(5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command.getFirst(), e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("could not read the output of " + command.getFirst(), e);
        }
    }

    /** Runs a command and fails with its first error line when it exits non-zero. */
    public static CommandResult check(Duration timeout, List<String> command) throws IOException {
        CommandResult result = run(timeout, command);
        if (!result.succeeded()) {
            throw new CommandFailedException(result,
                    "`" + String.join(" ", command) + "` exited with " + result.exitCode() + ": " + result.firstErrorLine());
        }
        return result;
    }

    public static CommandResult check(Duration timeout, String... command) throws IOException {
        return check(timeout, List.of(command));
    }

    private static Future<String> drain(InputStream in) {
        FutureTask<String> task = new FutureTask<>(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Thread.ofVirtual().name("drain").start(task);
        return task;
    }
}
