package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.daemon.DaemonClient;
import io.tmount.mount.MountManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "cache", description = {
        "Show the daemon's chunk cache: budget, use, and per build what was fetched from the store.",
        "`cache builds` and `cache prune` show and trim the build cache (template builds' cached steps, in the store)."},
        subcommands = {CacheBuildsCommand.class, CachePruneCommand.class})
final class CacheCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() {
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            MountManager.CacheReport report = client.cache();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Output.json(out, report);
                return 0;
            }
            out.printf("chunk cache: %s used of %s%n", ByteSize.format(report.usedBytes()), ByteSize.format(report.maxBytes()));
            if (!report.objects().isEmpty()) {
                // a local store's objects are read in place: nothing of them is in the cache
                Output.table(out, List.of("OBJECT", "SIZE", "SERVED FROM", "CACHED", "FETCHED", "FETCHES", "HITS"),
                        report.objects().stream().map(o -> List.of(o.object(), ByteSize.format(o.objectBytes()),
                                o.direct() ? "store file" : "chunk cache",
                                o.direct() ? "-" : ByteSize.format(o.presentBytes()), ByteSize.format(o.fetchedBytes()),
                                Long.toString(o.fetches()), Long.toString(o.hits()))).toList());
            }
        }
        return 0;
    }
}
