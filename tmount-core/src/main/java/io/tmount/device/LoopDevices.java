package io.tmount.device;

import io.tmount.os.CommandFailedException;
import io.tmount.os.Commands;
import io.tmount.os.HostTools;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Loop devices through losetup(8). Setup is serialized: concurrent "find a free device" calls race. */
final class LoopDevices {

    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Path sysBlock;
    private final Object setupLock = new Object();

    LoopDevices(Path sysBlock) {
        this.sysBlock = sysBlock;
    }

    private static String losetup() {
        return HostTools.require("losetup", "util-linux", "loop devices").toString();
    }

    /** Backs a new loop device with the file; returns /dev/loopN. */
    Path attach(Path file, boolean readOnly) throws IOException {
        List<String> command = new ArrayList<>(List.of(losetup(), "--find", "--show", "--direct-io=on"));
        if (readOnly) {
            command.add("--read-only");
        }
        command.add(file.toString());
        synchronized (setupLock) {
            IOException last = null;
            for (int attempt = 0; attempt < 5; attempt++) {
                try {
                    return Path.of(Commands.check(TIMEOUT, command).stdout().strip());
                } catch (CommandFailedException e) {
                    last = e; // another process took the device losetup found; try the next
                    Helpers.await(Duration.ofMillis(50L << attempt), () -> false);
                }
            }
            throw last;
        }
    }

    /**
     * Detaches the device; returns whether the kernel let go of it within {@code wait}. A device still in use (by
     * a lazily unmounted filesystem) is marked autoclear by losetup and freed when its last user closes it.
     */
    boolean detach(Path device, Duration wait) throws IOException {
        if (backingFile(device) == null) {
            return true;
        }
        Commands.check(TIMEOUT, losetup(), "--detach", device.toString());
        return Helpers.await(wait, () -> backingFile(device) == null);
    }

    /** The file backing the device, or null when it is free. */
    String backingFile(Path device) {
        Path file = sysBlock.resolve(device.getFileName().toString()).resolve("loop/backing_file");
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return null;
        }
    }

    /** The loop devices backed by a file under {@code dir}. */
    List<Path> backedBy(Path dir) {
        List<Path> found = new ArrayList<>();
        try (var devices = Files.newDirectoryStream(sysBlock, "loop*")) {
            for (Path sys : devices) {
                Path device = Path.of("/dev").resolve(sys.getFileName().toString());
                String backing = backingFile(device);
                if (backing != null && backing.startsWith(dir.toString() + "/")) {
                    found.add(device);
                }
            }
        } catch (IOException e) {
            // no sysfs: nothing to find
        }
        return found;
    }

    static int slotOf(Path device) {
        String name = device.getFileName().toString();
        return Integer.parseInt(name.replaceAll("\\D", ""));
    }
}
