package io.tmount.device;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.tmount.TmountException;

import java.util.Arrays;
import java.util.stream.Collectors;

/** How an NBD export becomes a block device on the host. */
public enum AttachBackend {
    /** The kernel's NBD client: /dev/nbdN. Needs the nbd module. */
    KERNEL_NBD("kernel-nbd"),
    /** nbdfuse exposes the export as a file in a FUSE mount; a loop device backs it. Needs /dev/fuse. */
    FUSE_LOOP("fuse-loop");

    private final String id;

    AttachBackend(String id) {
        this.id = id;
    }

    @JsonValue
    public String id() {
        return id;
    }

    @JsonCreator
    public static AttachBackend parse(String text) {
        for (AttachBackend backend : values()) {
            if (backend.id.equals(text)) {
                return backend;
            }
        }
        throw TmountException.invalid("attach backend '%s' is unknown; accepted: %s", text,
                Arrays.stream(values()).map(AttachBackend::id).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return id;
    }
}
