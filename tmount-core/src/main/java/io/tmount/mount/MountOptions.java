package io.tmount.mount;

import io.tmount.device.AttachBackend;

/**
 * How to mount: read-only or writable, which attach backend (null: choose automatically, kernel-nbd where the
 * host has the nbd module, else fuse-loop) and which engine serves the image.
 */
public record MountOptions(boolean readOnly, AttachBackend attach, Engine engine) {

    public MountOptions {
        engine = engine == null ? Engine.BUILTIN : engine;
    }

    /** Writable, automatic attach, built-in engine. */
    public static MountOptions defaults() {
        return new MountOptions(false, null, Engine.BUILTIN);
    }

    public MountOptions withReadOnly(boolean value) {
        return new MountOptions(value, attach, engine);
    }

    public MountOptions withAttach(AttachBackend value) {
        return new MountOptions(readOnly, value, engine);
    }

    public MountOptions withEngine(Engine value) {
        return new MountOptions(readOnly, attach, value);
    }
}
