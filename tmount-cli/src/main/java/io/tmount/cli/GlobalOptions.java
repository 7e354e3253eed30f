package io.tmount.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

import java.nio.file.Path;

/** Options every command accepts, before or after its name. */
final class GlobalOptions {

    @Option(names = "--state-dir", scope = ScopeType.INHERIT, paramLabel = "DIR",
            description = "State dir: mount journal, local copies (env TMOUNT_STATE_DIR; default /var/lib/tmount).")
    Path stateDir;

    @Option(names = "--runtime-dir", scope = ScopeType.INHERIT, paramLabel = "DIR",
            description = "Runtime dir: sockets, FUSE folders (env TMOUNT_RUNTIME_DIR; default /run/tmount).")
    Path runtimeDir;

    @Option(names = "--api-socket", scope = ScopeType.INHERIT, paramLabel = "PATH",
            description = "The daemon's API socket (env TMOUNT_SOCKET; default RUNTIME_DIR/tmount.sock).")
    Path socket;

    @Option(names = "--store", scope = ScopeType.INHERIT, paramLabel = "URL",
            description = "Template store URL, file:///path (default: TEMPLATE_STORAGE_URL, or STORAGE_PROVIDER=Local "
                    + "with LOCAL_TEMPLATE_STORAGE_BASE_PATH, else STATE_DIR/templates).")
    String store;

    @Option(names = "--strict-build-ids", scope = ScopeType.INHERIT,
            description = "Refuse to store builds whose ids are not UUIDs, which e2b cannot read (env "
                    + "TMOUNT_STRICT_BUILD_IDS=true; default: store them with a warning).")
    boolean strictBuildIds;

    @Option(names = "--progress", scope = ScopeType.INHERIT, paramLabel = "MODE", description = "Progress of long "
            + "work (import, create, verify, cp, tar) on stderr: auto (a bar with rate and ETA when stderr is a "
            + "terminal, else nothing), tty, json (one JSON object per line) or none. Default: auto.")
    String progress;

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "Log debug detail to stderr.")
    boolean debug;
}
