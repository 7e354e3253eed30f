package io.tmount.testing;

import io.tmount.os.MountTable;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a test could leave behind on the host: ext4 and FUSE mounts, loop devices with a backing file, and the
 * helper processes tmount starts. Snapshots are compared before and after a test class.
 */
public final class HostState {

    private static final List<String> HELPERS = List.of("nbdfuse", "qemu-nbd", "nbd-client", "nbdkit", "unshare", "fuse2fs");
    // and S3Proxy; unshare: RUN steps; fuse2fs: userspace-mode mounts

    private HostState() {
    }

    public static Set<String> snapshot() {
        Set<String> items = new TreeSet<>();
        for (MountTable.Entry entry : MountTable.ofThisProcess().entries()) {
            if (entry.fsType().equals("ext4") && !entry.mountPoint().toString().equals("/")
                    || entry.fsType().startsWith("fuse")) {
                items.add("mount " + entry.mountPoint() + " (" + entry.fsType() + " from " + entry.source() + ")");
            }
        }
        for (String loop : loopDevices()) {
            items.add("loop " + loop);
        }
        ProcessHandle.allProcesses().forEach(p -> {
            String cmdline = cmdline(p.pid());
            String program = cmdline.isEmpty() ? "" : Path.of(cmdline.split(" ")[0]).getFileName().toString();
            if (HELPERS.contains(program) || cmdline.contains("s3proxy.jar")) {
                items.add("process " + p.pid() + " " + cmdline);
            }
        });
        return items;
    }

    /** "loopN -> backing file" for every loop device in use. */
    public static List<String> loopDevices() {
        List<String> loops = new ArrayList<>();
        try (DirectoryStream<Path> devices = Files.newDirectoryStream(Path.of("/sys/block"), "loop*")) {
            for (Path device : devices) {
                Path backing = device.resolve("loop/backing_file");
                if (Files.exists(backing)) {
                    loops.add(device.getFileName() + " -> " + Files.readString(backing).strip());
                }
            }
        } catch (IOException e) {
            throw new AssertionError("cannot read /sys/block", e);
        }
        return loops;
    }

    public static String cmdline(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline")).replace('\0', ' ').strip();
        } catch (IOException e) {
            return "";
        }
    }
}
