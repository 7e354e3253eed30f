package io.tmount.build;

import io.tmount.TmountException;
import io.tmount.os.HostTools;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Runs a RUN step: {@code /bin/sh -c} inside the build root through chroot, in new mount and pid namespaces
 * (unshare), so mounts it makes vanish with it and it sees only its own processes, with the build's environment,
 * working folder and user. Its output goes to the build log as it comes.
 */
final class RunStep {

    private static final int TAIL_LINES = 20;

    private RunStep() {
    }

    static void run(Path root, BuildContext context, String command, BuildLog log) throws IOException {
        if (!Files.isExecutable(root.resolve("bin/sh"))) {
            throw TmountException.invalid("the build root has no /bin/sh to run commands with");
        }
        List<String> argv = new ArrayList<>(List.of(HostTools.require("unshare", "util-linux", "RUN steps").toString(),
                "--mount", "--pid", "--fork", "--kill-child"));
        if (Files.isDirectory(root.resolve("proc"))) {
            argv.add("--mount-proc=" + root.resolve("proc"));
        }
        BuildContext.RunAs user = context.user();
        argv.addAll(List.of(HostTools.require("chroot", "coreutils", "RUN steps").toString(),
                "--userspec=" + user.uid() + ":" + user.gid(), root.toString(),
                // the working folder and the command as arguments: no quoting to get wrong
                "/bin/sh", "-c", "cd \"$0\" || exit 1; exec /bin/sh -c \"$1\"", context.workdir(), command));
        ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        builder.environment().clear();
        builder.environment().putAll(context.environment());
        Process process = builder.start();
        Deque<String> tail = new ArrayDeque<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                log.line("  | " + line);
                tail.addLast(line);
                if (tail.size() > TAIL_LINES) {
                    tail.removeFirst();
                }
            }
        }
        int status;
        try {
            status = process.waitFor();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running the command");
        }
        if (status != 0) {
            throw new TmountException(TmountException.Kind.FAILED, "the command exited with " + status
                    + (tail.isEmpty() ? " and printed nothing" : "; its last output: " + String.join(" / ", tail)));
        }
    }
}
