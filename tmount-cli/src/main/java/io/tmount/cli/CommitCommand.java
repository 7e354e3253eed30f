package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.daemon.CommitRequest;
import io.tmount.daemon.DaemonClient;
import io.tmount.mount.CommitResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "commit", description = {
        "Store a writable mount's changes as a new layered build; prints its id.",
        "The filesystem is frozen meanwhile; the mounted build is not changed and the mount stays usable.",
        "An ext4 read-write mount always changes a few blocks of its own (superblock, journal)."})
final class CommitCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "PATH", description = "The mount path.")
    String path;

    @Option(names = "--build", paramLabel = "NEW", description = "The new build's id (default: a new UUID).")
    String build;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Mixin
    FormatOptions format;

    @Override
    public Integer call() {
        Output.warnIfNotUuid(spec.commandLine().getErr(), build);
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            CommitRequest request = new CommitRequest(path, build, format.compression, format.level,
                    format.frameSize(), format.headerVersion);
            ProgressDisplay progress = main.progress(spec.commandLine().getErr());
            CommitResult result = progress.shown() ? progress.track("committing " + path, p -> client.commit(request, p))
                    : client.commit(request);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Output.json(out, result);
            } else if (!result.changed()) {
                spec.commandLine().getErr().println("tmount: nothing to commit: " + path
                        + " has no changes since it was mounted or last committed");
            } else {
                out.println(result.build());
                spec.commandLine().getErr().printf("committed %s as build %s over %s (%s of its own%s, %s zeroed, "
                                + "header version %d)%n", path, result.build(), result.parent(),
                        ByteSize.format(result.ownBytes()), stored(result), ByteSize.format(result.zeroBytes()),
                        result.headerVersion());
            }
            if (result.warning() != null && !json) {
                spec.commandLine().getErr().println("tmount: warning: " + result.warning());
            }
        }
        return 0;
    }

    private static String stored(CommitResult result) {
        if (result.storedBytes() == 0) {
            return ", stored as a header alone";
        }
        return "none".equals(result.compression()) ? "" : ", stored " + result.compression() + "-compressed in "
                + ByteSize.format(result.storedBytes());
    }
}
