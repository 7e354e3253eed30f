package io.tmount.cli;

import io.tmount.daemon.DaemonClient;
import io.tmount.device.AttachBackend;
import io.tmount.mount.Engine;
import io.tmount.mount.FilesystemMode;
import io.tmount.mount.MountInfo;
import io.tmount.mount.MountOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "mount", description = "Mount a template build at PATH (through the daemon).")
final class MountCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TEMPLATE", description = "Template id.")
    String template;

    @Parameters(index = "1", paramLabel = "BUILD", description = "Build id.")
    String build;

    @Parameters(index = "2", paramLabel = "PATH", description = "Absolute mount path; created if missing.")
    String path;

    @Option(names = {"-r", "--read-only"}, description = "Mount read-only: writes are refused.")
    boolean readOnly;

    @Option(names = "--attach", paramLabel = "BACKEND",
            description = "kernel-nbd or fuse-loop (default: kernel-nbd where the nbd module is loaded, else fuse-loop).")
    String attach;

    @Option(names = "--engine", paramLabel = "ENGINE", defaultValue = "builtin",
            description = "builtin (tmount's NBD server) or qemu-nbd (the seed's engine). Default: ${DEFAULT-VALUE}.")
    String engine;

    @Option(names = "--verify", description = "Check the build's chain first (sizes, frames, SHA-256, read from the "
            + "store; see `tmount verify`) and refuse to mount it if it fails.")
    boolean verify;

    @Option(names = "--fsck", description = "Check the filesystem with e2fsck -fn on the attached device before the "
            + "kernel mounts it, and refuse it if e2fsck finds errors (its output is in the error).")
    boolean fsck;

    @Option(names = "--fs", paramLabel = "MODE", description = "Which code reads the filesystem: kernel (the host "
            + "kernel's ext4: fastest, for images you trust) or userspace (fuse2fs in a sandbox: the host kernel never "
            + "parses the image; see docs/security.md). Default: as the daemon's trust policy says (kernel unless "
            + "serve --untrusted-default or --trust).")
    String fs;

    @Option(names = "--allow-non-empty", description = "Mount over a folder that has something in it (hidden from "
            + "every user until the unmount; refused otherwise).")
    boolean allowNonEmpty;

    @Option(names = "--json", description = "Print the mount's details as JSON.")
    boolean json;

    @Override
    public Integer call() {
        MountOptions options = MountOptions.defaults().withReadOnly(readOnly)
                .withAttach(attach == null ? null : AttachBackend.parse(attach))
                .withEngine(Engine.parse(engine)).withVerify(verify).withAllowNonEmpty(allowNonEmpty)
                .withFsck(fsck).withFs(fs == null ? null : FilesystemMode.parse(fs));
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            MountInfo info = client.mount(template, build, path, options);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Output.json(out, info);
            } else {
                out.printf("mounted template %s build %s at %s (%s, %s via %s, engine %s, %s filesystem)%n",
                        info.templateId(), info.buildId(), info.mountPath(), info.readOnly() ? "read-only" : "writable",
                        info.devicePath(), info.attach(), info.engine(), info.fs());
            }
        }
        return 0;
    }
}
