package io.tmount.cli;

import io.tmount.daemon.DaemonClient;
import io.tmount.mount.MountInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "list", aliases = "ls", description = "List the daemon's active mounts.")
final class ListCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() {
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            List<MountInfo> mounts = client.list();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Output.json(out, mounts);
            } else if (mounts.isEmpty()) {
                out.println("no mounts");
            } else {
                Output.table(out, List.of("PATH", "TEMPLATE", "BUILD", "MODE", "DEVICE", "ATTACH", "ENGINE", "SINCE"),
                        mounts.stream().map(m -> List.of(m.mountPath().toString(), m.templateId().value(),
                                m.buildId().value(), m.readOnly() ? "ro" : "rw", Output.orDash(m.devicePath()),
                                m.attach().id(), m.engine().id(), m.createdAt().toString())).toList());
            }
        }
        return 0;
    }
}
