package io.tmount.host;

import io.tmount.os.CommandResult;
import io.tmount.os.Commands;
import io.tmount.os.HostTools;
import io.tmount.store.TemplateStore;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * What this host offers against what tmount needs ({@code tmount doctor}): the kernel's nbd, FUSE and loop devices,
 * each helper program and its version, the state and runtime dirs, and the template store. Each finding says what
 * to do when it is not fine. Nothing here changes the host.
 */
public final class HostDoctor {

    /** How a finding stands: FAIL means a core function (mounting) cannot work; WARN, that a feature is lost. */
    public enum Status { OK, WARN, FAIL }

    /** One check: what was looked at, how it stands, what was seen, and what to do if it is not fine. */
    public record Finding(String check, Status status, String detail, String fix) {

        public static Finding ok(String check, String detail) {
            return new Finding(check, Status.OK, detail, null);
        }
    }

    /** What needs a helper program: mounting on any host, mounting where there is no nbd module, or a feature. */
    private enum Need { CORE, FUSE_LOOP, FEATURE }

    /** A helper program: its Debian package, how to ask its version, what needs it, and how much. */
    private record Tool(String program, String debianPackage, String versionFlag, String neededFor, Need need) {
    }

    private static final List<Tool> TOOLS = List.of(
            new Tool("mount", "mount", "--version", "every mount", Need.CORE),
            new Tool("losetup", "util-linux", "--version", "the fuse-loop attach", Need.FUSE_LOOP),
            new Tool("nbdfuse", "libnbd-bin", "--version", "the fuse-loop attach", Need.FUSE_LOOP),
            new Tool("fusermount3", "fuse3", "--version", "the fuse-loop attach", Need.FUSE_LOOP),
            new Tool("mkfs.ext4", "e2fsprogs", "-V", "creating templates and empty build roots", Need.CORE),
            new Tool("e2fsck", "e2fsprogs", "-V", "mount --fsck and verify --fsck", Need.CORE),
            new Tool("fsfreeze", "util-linux", "--version", "consistent commits", Need.CORE),
            new Tool("nbd-client", "nbd-client", "--version", "the kernel-nbd attach (hosts with the nbd module)",
                    Need.FEATURE),
            new Tool("qemu-nbd", "qemu-utils", "--version", "the qemu-nbd engine", Need.FEATURE),
            new Tool("fuse2fs", "fuse2fs", "-V", "the userspace filesystem mode (--fs userspace)", Need.FEATURE),
            new Tool("/usr/bin/python3", "python3-minimal", "--version", "the userspace filesystem mode", Need.FEATURE),
            new Tool("nsenter", "util-linux", "--version", "the userspace filesystem mode", Need.FEATURE),
            new Tool("prlimit", "util-linux", "--version", "the userspace filesystem mode", Need.FEATURE),
            new Tool("unshare", "util-linux", "--version", "RUN steps and the userspace mode", Need.FEATURE),
            new Tool("setpriv", "util-linux", "--version", "RUN steps and the userspace mode", Need.FEATURE),
            new Tool("capsh", "libcap2-bin", null, "RUN steps of template builds", Need.FEATURE));

    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(10);
    private static final long LOW_SPACE_BYTES = 2L << 30;

    private final Path sys;
    private final Path dev;
    private final Duration storeTimeout;

    public HostDoctor(Path sys, Path dev, Duration storeTimeout) {
        this.sys = sys;
        this.dev = dev;
        this.storeTimeout = storeTimeout;
    }

    public static HostDoctor ofThisHost() {
        return new HostDoctor(Path.of("/sys"), Path.of("/dev"), Duration.ofSeconds(20));
    }

    /** Every check of the host, its dirs and its store (null: not checked), in a stable order. */
    public List<Finding> check(Path stateDir, Path runtimeDir, Supplier<TemplateStore> store) {
        List<Finding> findings = new ArrayList<>();
        findings.add(root());
        Finding nbd = nbd();
        findings.add(nbd);
        // with the nbd module, mounts attach through it: what only fuse-loop needs is then a feature's
        Status fuseLoopMissing = nbd.status() == Status.OK ? Status.WARN : Status.FAIL;
        findings.add(fuse(fuseLoopMissing));
        findings.add(loop(fuseLoopMissing));
        for (Tool tool : TOOLS) {
            findings.add(tool(tool, switch (tool.need()) {
                case CORE -> Status.FAIL;
                case FUSE_LOOP -> fuseLoopMissing;
                case FEATURE -> Status.WARN;
            }));
        }
        findings.add(dir("state dir", stateDir, true));
        findings.add(dir("runtime dir", runtimeDir, false));
        if (store != null) {
            findings.add(store(store));
        }
        return findings;
    }

    private static Finding root() {
        String uid = System.getProperty("user.name");
        boolean root = "root".equals(uid);
        return root ? Finding.ok("running as root", "yes")
                : new Finding("running as root", Status.FAIL, "running as " + uid,
                "run tmount as root: mounting, loop devices and FUSE mounts for others need it");
    }

    private Finding nbd() {
        Path module = sys.resolve("module/nbd");
        if (!Files.isDirectory(module)) {
            return new Finding("kernel nbd module", Status.WARN, "not loaded: mounts attach through nbdfuse and "
                    + "a loop device (fuse-loop)", "for the kernel-nbd attach: modprobe nbd nbds_max=64 (and list "
                    + "nbd in /etc/modules-load.d/)");
        }
        int devices = 0;
        while (Files.exists(sys.resolve("block/nbd" + devices))) {
            devices++;
        }
        return devices == 0
                ? new Finding("kernel nbd module", Status.WARN, "loaded, but no /sys/block/nbd0",
                "reload it with devices: rmmod nbd && modprobe nbd nbds_max=64")
                : Finding.ok("kernel nbd module", "loaded, " + devices + " devices");
    }

    private Finding fuse(Status missing) {
        Path node = dev.resolve("fuse");
        if (!Files.exists(node)) {
            return new Finding("FUSE", missing, node + " is missing", "modprobe fuse (the fuse-loop attach "
                    + "and the userspace mode need it; in a container, pass the device in)");
        }
        return Files.isReadable(node) && Files.isWritable(node) ? Finding.ok("FUSE", node + " present")
                : new Finding("FUSE", missing, node + " cannot be opened for reading and writing",
                "run as root, or give the container access to " + node);
    }

    private Finding loop(Status missing) {
        Path control = dev.resolve("loop-control");
        if (!Files.exists(control)) {
            return new Finding("loop devices", missing, control + " is missing",
                    "modprobe loop (the fuse-loop attach needs loop devices)");
        }
        return Finding.ok("loop devices", control + " present");
    }

    private static Finding tool(Tool tool, Status missing) {
        String check = "program " + tool.program();
        var path = tool.program().startsWith("/")
                ? java.util.Optional.of(Path.of(tool.program())).filter(Files::isExecutable)
                : HostTools.find(tool.program());
        if (path.isEmpty()) {
            return new Finding(check, missing, "not installed (needed for "
                    + tool.neededFor() + ")", "apt-get install " + tool.debianPackage());
        }
        String version = tool.versionFlag() == null ? "" : version(path.get(), tool.versionFlag(),
                path.get().getFileName().toString());
        return Finding.ok(check, path.get() + (version.isEmpty() ? "" : ": " + version));
    }

    /**
     * The line that names a version, from stdout or stderr (some tools print it there): one naming the program
     * first (fuse2fs also prints the versions of what it uses), else the first with a version number.
     */
    private static String version(Path program, String flag, String name) {
        try {
            CommandResult result = Commands.run(TOOL_TIMEOUT, List.of(program.toString(), flag));
            List<String> lines = (result.stdout() + "\n" + result.stderr()).lines().map(String::strip)
                    .filter(l -> l.matches(".*\\d+\\.\\d+.*")).toList();
            String base = name.replace(".ext4", "");
            return lines.stream().filter(l -> l.toLowerCase(java.util.Locale.ROOT).contains(base)).findFirst()
                    .orElse(lines.isEmpty() ? "" : lines.getFirst());
        } catch (IOException e) {
            return "";
        }
    }

    private static Finding dir(String name, Path dir, boolean needsSpace) {
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return new Finding(name, Status.FAIL, dir + " and none of its parents exist", "create " + dir);
        }
        try {
            PosixFileAttributes attributes = Files.readAttributes(existing, PosixFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            String where = existing.equals(dir) ? dir.toString() : dir + " (not made yet; " + existing + " exists)";
            if (!Files.isWritable(existing)) {
                return new Finding(name, Status.FAIL, where + " is not writable",
                        "run as root, or choose another (--" + (needsSpace ? "state" : "runtime") + "-dir)");
            }
            if (existing.equals(dir) && (attributes.permissions().contains(PosixFilePermission.OTHERS_WRITE)
                    || !attributes.owner().getName().equals("root"))) {
                return new Finding(name, Status.WARN, where + " is owned by " + attributes.owner().getName()
                        + " with mode " + java.nio.file.attribute.PosixFilePermissions.toString(
                        attributes.permissions()), "chown root " + dir + " && chmod go-w " + dir
                        + " (others must not change tmount's state)");
            }
            if (needsSpace) {
                FileStore disk = Files.getFileStore(existing);
                long free = disk.getUsableSpace();
                String space = String.format("%.1f GiB free on %s", free / (double) (1L << 30), disk);
                if (free < LOW_SPACE_BYTES) {
                    return new Finding(name, Status.WARN, where + ": only " + space, "make room: the chunk cache "
                            + "and writable mounts' overlays live here (`tmount cache` shows the cache)");
                }
                return Finding.ok(name, where + ", " + space);
            }
            return Finding.ok(name, where);
        } catch (IOException e) {
            return new Finding(name, Status.FAIL, "cannot look at " + dir + ": " + e.getMessage(), "check " + dir);
        }
    }

    /** Lists the store's builds, within the timeout: a store that hangs is as unusable as one that refuses. */
    private Finding store(Supplier<TemplateStore> opener) {
        CompletableFuture<Finding> probe = CompletableFuture.supplyAsync(() -> {
            try (TemplateStore store = opener.get()) {
                int builds = store.list().size();
                return Finding.ok("template store", store.url() + ": reachable, " + builds + " builds");
            } catch (Exception e) {
                return new Finding("template store", Status.FAIL, String.valueOf(e.getMessage()),
                        "check the store URL (--store, TEMPLATE_STORAGE_URL or e2b's bucket variables) and the "
                                + "credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or the SDK's chain)");
            }
        });
        try {
            return probe.get(storeTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return new Finding("template store", Status.FAIL, "no answer within " + storeTimeout.toSeconds() + " s",
                    "check that the store's endpoint is reachable from this host");
        } catch (Exception e) {
            return new Finding("template store", Status.FAIL, String.valueOf(e.getMessage()), "check the store");
        }
    }
}
