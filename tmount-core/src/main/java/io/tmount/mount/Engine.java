package io.tmount.mount;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import io.tmount.TmountException;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Which NBD server serves a mount's image. */
public enum Engine {
    /** tmount's own NBD server, inside the process that owns the mount. */
    BUILTIN("builtin"),
    /** The seed's engine: a qemu-nbd child process serving the local copy. */
    QEMU_NBD("qemu-nbd");

    private final String id;

    Engine(String id) {
        this.id = id;
    }

    @JsonValue
    public String id() {
        return id;
    }

    @JsonCreator
    public static Engine parse(String text) {
        for (Engine engine : values()) {
            if (engine.id.equals(text)) {
                return engine;
            }
        }
        throw TmountException.invalid("engine '%s' is unknown; accepted: %s", text,
                Arrays.stream(values()).map(Engine::id).collect(Collectors.joining(", ")));
    }

    @Override
    public String toString() {
        return id;
    }
}
