package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.daemon.DaemonClient;
import io.tmount.daemon.PrefetchRequest;
import io.tmount.daemon.PrefetchResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "prefetch", description = {
        "Warm the daemon's caches for a build ahead of use: the chunks its mounts read first (its read trace, or its",
        "nearest ancestor's), then, with --all, everything it maps. Always behind the reads of mounts; returns once",
        "it is all local. Each mount records its first minute of reads in its build's trace (STATE_DIR/traces)."})
final class PrefetchCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TEMPLATE", description = "The template.")
    String template;

    @Parameters(index = "1", paramLabel = "BUILD", description = "The build.")
    String build;

    @Option(names = "--all", description = "After the trace, everything the build maps to data.")
    boolean all;

    @Option(names = "--rate", paramLabel = "MB/s", description = "Fetch at most this fast with --all (default: no "
            + "limit; the daemon's --fetches still bound it).")
    Double rate;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() {
        if (rate != null && !(rate > 0)) {
            throw io.tmount.TmountException.invalid("--rate takes MB/s above 0, not %s", rate);
        }
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            PrefetchRequest request = new PrefetchRequest(template, build, all, rate);
            PrefetchResult result = main.progress(spec.commandLine().getErr())
                    .track("prefetching " + build, p -> client.prefetch(request, p));
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Output.json(out, result);
            } else if (result.traceOf() == null && !all) {
                spec.commandLine().getErr().println("tmount: no read trace is recorded for build " + build
                        + " or its ancestors yet (a mount records one); --all fetches everything");
            } else {
                out.printf("prefetched %s of build %s in %.1f s (%s)%n", ByteSize.format(result.bytes()), build,
                        result.seconds(), result.traceOf() == null ? "no read trace; everything it maps"
                                : result.traceChunks() + " chunks of the read trace of " + result.traceOf()
                                + (all ? ", then everything it maps" : ""));
            }
        }
        return 0;
    }
}
