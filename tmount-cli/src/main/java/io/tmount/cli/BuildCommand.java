package io.tmount.cli;

import io.tmount.builder.BuildResult;
import io.tmount.daemon.DaemonClient;
import io.tmount.daemon.BuildRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "build", description = {
        "Build a template from a template file (through the daemon); prints the new build's id.",
        "Mounts the base build copy-on-write (or an empty filesystem) as the build root, runs the steps (RUN, COPY,",
        "ENV, WORKDIR, USER, MOUNT, UNMOUNT) and commits the root as a new build. The log, with step numbers and",
        "timings, goes to stderr as the build runs."})
final class BuildCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The template file (YAML or JSON).")
    Path file;

    @Option(names = "--build", paramLabel = "NEW", description = "The new build's id (default: a new UUID).")
    String build;

    @Mixin
    FormatOptions format;

    @Override
    public Integer call() throws IOException {
        Path absolute = file.toAbsolutePath();
        String text = Files.readString(absolute);
        PrintWriter err = spec.commandLine().getErr();
        Output.warnIfNotUuid(err, build);
        try (DaemonClient client = DaemonClient.connect(main.settings().socket())) {
            BuildRequest request = new BuildRequest(text, absolute.getParent().toString(), build, format.compression,
                    format.level, format.frameSize(), format.headerVersion);
            BuildResult result = client.build(request, line -> {
                err.println(line);
                err.flush();
            }, DaemonClient.BUILD_SILENCE_LIMIT);
            spec.commandLine().getOut().println(result.build());
        }
        return 0;
    }
}
