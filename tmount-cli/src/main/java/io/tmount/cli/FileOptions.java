package io.tmount.cli;

import io.tmount.mount.FilesystemMode;
import picocli.CommandLine.Option;

/** The options every file command (ls, cat, cp, tar, run, diff, manifest) takes. */
final class FileOptions {

    @Option(names = "--fs", paramLabel = "MODE", description = "Which code reads the build's filesystem: kernel or "
            + "userspace (fuse2fs in a sandbox, for builds you do not trust; see docs/security.md). Default: the "
            + "running daemon's trust policy, or kernel without a daemon.")
    String fs;

    FilesystemMode mode() {
        return fs == null ? null : FilesystemMode.parse(fs);
    }
}
