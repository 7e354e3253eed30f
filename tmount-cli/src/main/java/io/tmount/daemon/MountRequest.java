package io.tmount.daemon;

import io.tmount.device.AttachBackend;
import io.tmount.mount.Engine;
import io.tmount.mount.FilesystemMode;

/**
 * POST /v1/mounts: what to mount where, and how (attach null: automatic; engine null: builtin; verify: check the
 * build's chain first; fsck: e2fsck -fn the filesystem on the device before mounting it; fs: kernel or userspace,
 * null: as the daemon's trust policy says).
 */
public record MountRequest(String templateId, String buildId, String mountPath, boolean readOnly,
                           AttachBackend attach, Engine engine, boolean verify, boolean allowNonEmpty, boolean fsck,
                           FilesystemMode fs) {
}
