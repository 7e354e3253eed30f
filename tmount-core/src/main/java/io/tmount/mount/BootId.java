package io.tmount.mount;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The kernel's id of the current boot: leftovers journaled under another boot no longer exist. */
final class BootId {

    private BootId() {
    }

    static String current() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
