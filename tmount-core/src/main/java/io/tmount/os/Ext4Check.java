package io.tmount.os;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * {@code e2fsck -f -n} on an ext4 image or block device: a full check that changes nothing (the device may be in use
 * read-only elsewhere, and a check must never repair what an operator has not looked at).
 */
public final class Ext4Check {

    private static final int OUTPUT_LIMIT = 4000;

    /** What e2fsck said: its exit status (0: clean) and the end of its output. */
    public record Result(int exitCode, String output) {
        public boolean clean() {
            return exitCode == 0;
        }
    }

    private Ext4Check() {
    }

    /** {@code what}: why e2fsck is needed, for the message when it is missing. */
    public static Result run(Path imageOrDevice, Duration timeout, String what) throws IOException {
        String e2fsck = HostTools.require("e2fsck", "e2fsprogs", what).toString();
        CommandResult result = Commands.run(timeout, List.of(e2fsck, "-f", "-n", imageOrDevice.toString()));
        String output = (result.stdout() + result.stderr()).strip();
        if (output.length() > OUTPUT_LIMIT) {
            output = "…" + output.substring(output.length() - OUTPUT_LIMIT);
        }
        return new Result(result.exitCode(), output);
    }
}
