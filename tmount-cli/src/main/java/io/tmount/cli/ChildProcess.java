package io.tmount.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.function.UnaryOperator;

/**
 * Runs a tool for a file command (cp, tar, the user's command): its output goes to the command's standard output
 * (straight through when that is the process's own, else copied), its errors to the command's, each line passed
 * through {@code rewrite} (to show a build path instead of the /proc path the tool was given).
 */
final class ChildProcess {

    private ChildProcess() {
    }

    static int run(FileSession session, ProcessBuilder builder, OutputStream out, PrintWriter err,
                   UnaryOperator<String> rewrite) throws IOException {
        return run(session, builder, out, err, rewrite, null);
    }

    /** The same, showing the bytes the tool reads as {@code progress} (null: none). */
    static int run(FileSession session, ProcessBuilder builder, OutputStream out, PrintWriter err,
                   UnaryOperator<String> rewrite, ProgressDisplay.Task progress) throws IOException {
        boolean direct = out == System.out;
        if (direct && builder.redirectOutput() == ProcessBuilder.Redirect.PIPE) {
            builder.redirectOutput(ProcessBuilder.Redirect.INHERIT);
        }
        builder.redirectInput(ProcessBuilder.Redirect.INHERIT);
        Process process = session.start(builder);
        if (progress != null) {
            progress.followReads(process.pid());
        }
        Thread errors = Thread.ofVirtual().start(() -> {
            try (var lines = process.errorReader(StandardCharsets.UTF_8).lines()) {
                lines.forEach(line -> {
                    err.println(rewrite.apply(line));
                    err.flush();
                });
            } catch (UncheckedIOException e) {
                // the tool was stopped
            }
        });
        try {
            if (!direct && builder.redirectOutput() == ProcessBuilder.Redirect.PIPE) {
                try (InputStream in = process.getInputStream()) {
                    in.transferTo(out);
                }
                out.flush();
            }
            int status = process.waitFor();
            errors.join();
            session.checkCancelled();
            if (status != 0 && progress != null) {
                progress.fail();
            }
            return status;
        } catch (InterruptedException e) {
            process.destroy();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
    }

    static UnaryOperator<String> replacing(String what, String with) {
        return line -> line.replace(what, with);
    }
}
