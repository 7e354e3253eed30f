package io.tmount.cli;

import io.tmount.daemon.DaemonClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

@Command(name = "unexport", description = "Stop serving an export of the daemon; its overlay is discarded.")
final class UnexportCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "Export name (see `tmount list`).")
    String name;

    @Override
    public Integer call() {
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            client.unexport(name);
            spec.commandLine().getOut().printf("stopped export %s%n", name);
        }
        return 0;
    }
}
