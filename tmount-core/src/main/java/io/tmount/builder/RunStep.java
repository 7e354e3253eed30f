package io.tmount.builder;

import io.tmount.TmountException;
import io.tmount.os.HostTools;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.StringJoiner;

/**
 * Runs a RUN step: {@code /bin/sh -c} inside the build root, in new mount and pid namespaces (unshare), so mounts it
 * makes vanish with it and it sees only its own processes, with the build's environment, working folder and user.
 * Unless the step (or its template) asks for the network, it runs in a network namespace of its own with only a
 * loopback interface: a build reaches no network it was not meant to.
 * Its output goes to the build log as it comes.
 *
 * <p>The command is confined to the root: capsh chroots into it and then drops from the bounding set every
 * capability but Docker's default ones, and CAP_SYS_CHROOT and CAP_MKNOD too, so it cannot chroot its way out,
 * mount, make device nodes, load modules or reach raw devices (the root itself is mounted nodev); and it runs with
 * no_new_privs, so no setuid program or file capability in the root raises it above that. The host's tools
 * (unshare, capsh) run with a fixed, clean environment: the build's ENV is exported only inside the root, where a
 * variable such as LD_PRELOAD concerns the root's own programs.
 */
final class RunStep {

    private static final int TAIL_LINES = 20;
    private static final String HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
    /** chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, net_raw, audit_write, setfcap. */
    private static final long KEPT_CAPABILITIES = bits(0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 29, 31);
    /** In the root: go to the working folder, export the build's ENV (given as KEY=VALUE arguments), run the command. */
    private static final String IN_ROOT = "cd \"$0\" || exit 1; c=\"$1\"; shift; for kv do export \"$kv\"; done; "
            + "exec /bin/sh -c \"$c\"";

    private RunStep() {
    }

    static void run(Path root, BuildContext context, String command, boolean network, BuildLog log,
                    RunningSteps running) throws IOException {
        if (!Files.isExecutable(RootPaths.resolve(root, "/", "/bin/sh"))) {
            throw TmountException.invalid("the build root has no /bin/sh to run commands with");
        }
        List<String> argv = new ArrayList<>(List.of(HostTools.require("unshare", "util-linux", "RUN steps").toString(),
                "--mount", "--pid", "--fork", "--kill-child"));
        if (!network) {
            argv.add("--net"); // a network namespace of its own: a loopback interface and nothing else
        }
        if (Files.isDirectory(root.resolve("proc"), LinkOption.NOFOLLOW_LINKS)) {
            argv.add("--mount-proc=" + root.resolve("proc"));
        }
        if (!network) {
            // the new namespace's loopback starts down; build tools that talk to themselves over it expect it up
            HostTools.find("ip").ifPresent(ip -> argv.addAll(List.of("/bin/sh", "-c",
                    "\"$0\" link set lo up || exit 1; shift; exec \"$@\"", ip.toString(), "--")));
        }
        BuildContext.RunAs user = context.user();
        // no_new_privs: no setuid program or file capability in the root can give the step more than it starts with
        argv.addAll(List.of(HostTools.require("setpriv", "util-linux", "RUN steps").toString(), "--no-new-privs"));
        argv.addAll(List.of(HostTools.require("capsh", "libcap2-bin", "RUN steps").toString(),
                "--chroot=" + root, "--drop=" + droppedCapabilities(),
                "--gid=" + user.gid(), "--groups=" + user.gid(), "--uid=" + user.uid(),
                // the working folder, the command and the environment as arguments: no quoting to get wrong
                "--shell=/bin/sh", "--", "-c", IN_ROOT, context.workdir(), command));
        context.environment().forEach((key, value) -> argv.add(key + "=" + value));
        ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        builder.environment().clear();
        builder.environment().put("PATH", HOST_PATH);
        Process process = builder.start();
        running.started(process);
        try {
            await(process, log);
        } finally {
            running.ended(process);
        }
        if (running.stopping()) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE, "stopped: the daemon is stopping");
        }
    }

    private static void await(Process process, BuildLog log) throws IOException {
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

    /** Every capability this process's bounding set holds that RUN steps do not keep, as capsh numbers. */
    private static String droppedCapabilities() throws IOException {
        long bounding = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapBnd:")) {
                bounding = Long.parseUnsignedLong(line.substring("CapBnd:".length()).strip(), 16);
            }
        }
        StringJoiner dropped = new StringJoiner(",");
        for (int cap = 0; cap < 64; cap++) {
            if ((bounding & ~KEPT_CAPABILITIES & (1L << cap)) != 0) {
                dropped.add(Integer.toString(cap));
            }
        }
        return dropped.toString();
    }

    private static long bits(int... caps) {
        long bits = 0;
        for (int cap : caps) {
            bits |= 1L << cap;
        }
        return bits;
    }
}
