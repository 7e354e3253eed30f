package io.tmount.cli;

import io.tmount.daemon.DaemonClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;

@Command(name = "unmount", aliases = "umount",
        description = "Unmount the template at PATH and release its device, server and local copy (through the daemon).")
final class UnmountCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "The mount path.")
    String path;

    @Override
    public Integer call() {
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            var kept = client.unmount(path);
            spec.commandLine().getOut().println("unmounted " + path);
            kept.ifPresent(folder -> spec.commandLine().getErr().println("tmount: warning: " + path + " went "
                    + "read-only after a filesystem error with uncommitted changes; its overlay is kept in " + folder));
        }
        return 0;
    }
}
