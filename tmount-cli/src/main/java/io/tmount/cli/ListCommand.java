package io.tmount.cli;

import io.tmount.daemon.DaemonClient;
import io.tmount.export.ExportInfo;
import io.tmount.mount.MountInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "list", description = "List the daemon's active mounts and exports.")
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
            List<ExportInfo> exports = client.exports();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Output.json(out, java.util.Map.of("mounts", mounts, "exports", exports));
                return 0;
            }
            if (mounts.isEmpty()) {
                out.println("no mounts");
            } else {
                Output.table(out, List.of("PATH", "TEMPLATE", "BUILD", "MODE", "DEVICE", "ATTACH", "ENGINE", "FS",
                                "SINCE", "STATE"),
                        mounts.stream().map(m -> List.of(m.mountPath().toString(), m.templateId().value(),
                                m.buildId().value(), m.readOnly() ? "ro" : "rw", Output.orDash(m.devicePath()),
                                m.attach().id(), m.engine().id(), m.fs().id(), m.createdAt().toString(),
                                m.problem() == null ? "ok" : "PROBLEM")).toList());
                for (MountInfo mount : mounts) {
                    if (mount.problem() != null) {
                        out.println("problem at " + mount.mountPath() + ": " + mount.problem());
                    }
                }
            }
            if (!exports.isEmpty()) {
                out.println();
                Output.table(out, List.of("EXPORT", "SOURCE", "MODE", "URI", "SINCE"),
                        exports.stream().map(e -> List.of(e.name(), e.image() != null ? e.image().toString()
                                        : e.templateId().value() + " " + e.buildId().value(), e.readOnly() ? "ro" : "rw",
                                e.uri(), e.createdAt().toString())).toList());
            }
        }
        return 0;
    }
}
