package io.tmount.mount;

import io.tmount.device.AttachBackend;
import io.tmount.store.TemplateId;

/**
 * How to mount: read-only or writable, which attach backend (null: choose automatically, kernel-nbd where the
 * host has the nbd module, else fuse-loop) and which engine serves the image. An {@code ephemeral} mount is not
 * brought back after a crash but taken apart and discarded with its overlay: template builds mount their roots this
 * way, since a build cut off by a crash has failed anyway. With {@code verify} the build's chain is checked first
 * (sizes, frames, SHA-256, read from the store): a build that fails is not mounted. A mount path that is a folder
 * with something in it is refused unless {@code allowNonEmpty}: the mount would hide its content from every user.
 * With {@code fsck}, {@code e2fsck -fn} checks the filesystem on the attached device before the kernel mounts it: one
 * with errors is refused, e2fsck's output in the error. {@code fs} says which code reads the filesystem (null: the
 * manager's default, see {@link MountManagerConfig}). {@code descendsFrom}: see {@link #withDescendsFrom}.
 */
public record MountOptions(boolean readOnly, AttachBackend attach, Engine engine, boolean ephemeral, boolean verify,
                           boolean allowNonEmpty, boolean fsck, FilesystemMode fs, TemplateId descendsFrom) {

    public MountOptions {
        engine = engine == null ? Engine.BUILTIN : engine;
    }

    public MountOptions(boolean readOnly, AttachBackend attach, Engine engine) {
        this(readOnly, attach, engine, false, false, false, false, null, null);
    }

    /** Writable, automatic attach, built-in engine, the manager's filesystem mode, restored after a crash. */
    public static MountOptions defaults() {
        return new MountOptions(false, null, Engine.BUILTIN, false, false, false, false, null, null);
    }

    public MountOptions withFs(FilesystemMode value) {
        return new MountOptions(readOnly, attach, engine, ephemeral, verify, allowNonEmpty, fsck, value, descendsFrom);
    }

    public MountOptions withReadOnly(boolean value) {
        return new MountOptions(value, attach, engine, ephemeral, verify, allowNonEmpty, fsck, fs, descendsFrom);
    }

    public MountOptions withAttach(AttachBackend value) {
        return new MountOptions(readOnly, value, engine, ephemeral, verify, allowNonEmpty, fsck, fs, descendsFrom);
    }

    public MountOptions withEngine(Engine value) {
        return new MountOptions(readOnly, attach, value, ephemeral, verify, allowNonEmpty, fsck, fs, descendsFrom);
    }

    public MountOptions withEphemeral(boolean value) {
        return new MountOptions(readOnly, attach, engine, value, verify, allowNonEmpty, fsck, fs, descendsFrom);
    }

    public MountOptions withVerify(boolean value) {
        return new MountOptions(readOnly, attach, engine, ephemeral, value, allowNonEmpty, fsck, fs, descendsFrom);
    }

    public MountOptions withFsck(boolean value) {
        return new MountOptions(readOnly, attach, engine, ephemeral, verify, allowNonEmpty, value, fs, descendsFrom);
    }

    public MountOptions withAllowNonEmpty(boolean value) {
        return new MountOptions(readOnly, attach, engine, ephemeral, verify, value, fsck, fs, descendsFrom);
    }

    /**
     * The same, for a build that descends from a build of {@code value} whose metadata may not say so (an e2b base a
     * template file names by its template): the trust policy counts that template in the chain too.
     */
    public MountOptions withDescendsFrom(TemplateId value) {
        return new MountOptions(readOnly, attach, engine, ephemeral, verify, allowNonEmpty, fsck, fs, value);
    }
}
