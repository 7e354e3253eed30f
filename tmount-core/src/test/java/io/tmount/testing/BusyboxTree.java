package io.tmount.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/** A tiny root filesystem for build tests: busybox-static as /bin/busybox with its applets, passwd, /proc, /tmp. */
public final class BusyboxTree {

    private static final List<String> APPLETS = List.of("sh", "cat", "cp", "ls", "mkdir", "echo", "id", "pwd", "env",
            "rm", "touch", "test", "false", "true", "sleep", "ps", "mount", "wc", "sha256sum");

    private BusyboxTree() {
    }

    public static Path create(Path root) {
        Path busybox = HostTool.require("busybox", "busybox-static");
        try {
            Files.createDirectories(root.resolve("bin"));
            Files.copy(busybox, root.resolve("bin/busybox"));
            Files.setPosixFilePermissions(root.resolve("bin/busybox"), PosixFilePermissions.fromString("rwxr-xr-x"));
            for (String applet : APPLETS) {
                Files.createSymbolicLink(root.resolve("bin").resolve(applet), Path.of("busybox"));
            }
            for (String dir : List.of("proc", "tmp", "root", "etc", "mnt")) {
                Files.createDirectories(root.resolve(dir));
            }
            Files.setPosixFilePermissions(root.resolve("tmp"), PosixFilePermissions.fromString("rwxrwxrwx"));
            Files.writeString(root.resolve("etc/passwd"),
                    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
            Files.writeString(root.resolve("etc/group"), "root:x:0:\nnogroup:x:65534:\n");
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
