package io.tmount.mount;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.tmount.device.AttachBackend;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;
import java.time.Instant;

/**
 * An active mount, as the seed's MountInfo describes it (template, build, mount path, device path and slot,
 * temporary file) plus how it was made.
 *
 * @param id           tmount's id for the mount (names its state and runtime folders)
 * @param deviceSlot   N of /dev/nbdN or /dev/loopN
 * @param tempFilePath the full local copy of the build, where there is one (the qemu-nbd engine)
 * @param overlayPath  the folder of the mount's copy-on-write overlay (writable mounts of the builtin engine)
 * @param fs           which code reads the filesystem (journals of earlier versions have none: the kernel's)
 * @param nbdUri       where the mount's NBD export is served
 * @param problem      what is wrong with the mount right now, as {@code list} found it (null: nothing it can see):
 *                     its device's helper or NBD server died, the kernel dropped the device, the filesystem went
 *                     read-only after an error or was unmounted behind tmount's back
 */
public record MountInfo(
        String id,
        TemplateId templateId,
        BuildId buildId,
        Path mountPath,
        Path devicePath,
        int deviceSlot,
        Path tempFilePath,
        Path overlayPath,
        boolean readOnly,
        AttachBackend attach,
        Engine engine,
        FilesystemMode fs,
        Instant createdAt,
        String nbdUri,
        @JsonInclude(JsonInclude.Include.NON_NULL) String problem) {

    public MountInfo {
        fs = fs == null ? FilesystemMode.KERNEL : fs;
    }

    public MountInfo(String id, TemplateId templateId, BuildId buildId, Path mountPath, Path devicePath, int deviceSlot,
                     Path tempFilePath, Path overlayPath, boolean readOnly, AttachBackend attach, Engine engine,
                     FilesystemMode fs, Instant createdAt, String nbdUri) {
        this(id, templateId, buildId, mountPath, devicePath, deviceSlot, tempFilePath, overlayPath, readOnly, attach,
                engine, fs, createdAt, nbdUri, null);
    }

    MountInfo withDevice(Path device, int slot, String uri) {
        return new MountInfo(id, templateId, buildId, mountPath, device, slot, tempFilePath, overlayPath, readOnly,
                attach, engine, fs, createdAt, uri, problem);
    }

    /** The same mount, now showing {@code build} of {@code template} (a build root that advanced onto its commit). */
    MountInfo withBuild(TemplateId template, BuildId build) {
        return new MountInfo(id, template, build, mountPath, devicePath, deviceSlot, tempFilePath, overlayPath,
                readOnly, attach, engine, fs, createdAt, nbdUri, problem);
    }

    MountInfo withProblem(String value) {
        return new MountInfo(id, templateId, buildId, mountPath, devicePath, deviceSlot, tempFilePath, overlayPath,
                readOnly, attach, engine, fs, createdAt, nbdUri, value);
    }
}
