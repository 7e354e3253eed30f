package io.tmount.device;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The part of /sys/block the nbd pool reads, for hosts without the nbd module. */
record FakeSysfs(Path root, int devices) {

    FakeSysfs {
        try {
            for (int i = 0; i < devices; i++) {
                Files.createDirectories(root.resolve("nbd" + i));
                Files.writeString(root.resolve("nbd" + i + "/size"), "0\n");
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    void connect(int index) throws IOException {
        Files.writeString(root.resolve("nbd" + index + "/pid"), "4242\n");
        Files.writeString(root.resolve("nbd" + index + "/size"), "2048\n");
    }

    void disconnect(int index) throws IOException {
        Files.deleteIfExists(root.resolve("nbd" + index + "/pid"));
        Files.writeString(root.resolve("nbd" + index + "/size"), "0\n");
    }
}
