package io.tmount.mount;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.tmount.TmountException;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Which code reads a mount's ext4: the host kernel's driver, or fuse2fs in a sandbox (for images not trusted). */
public enum FilesystemMode {
    /** The host kernel's ext4 driver: fastest; trusts the image's metadata. */
    KERNEL("kernel"),
    /** A sandboxed fuse2fs: the host kernel parses only FUSE requests, never the image's metadata. */
    USERSPACE("userspace");

    private final String id;

    FilesystemMode(String id) {
        this.id = id;
    }

    @JsonValue
    public String id() {
        return id;
    }

    @JsonCreator
    public static FilesystemMode parse(String text) {
        for (FilesystemMode mode : values()) {
            if (mode.id.equals(text)) {
                return mode;
            }
        }
        throw TmountException.invalid("filesystem mode '%s' is unknown; accepted: %s", text,
                Arrays.stream(values()).map(FilesystemMode::id).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return id;
    }
}
