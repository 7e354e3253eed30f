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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "build", description = {
        "Build a template from a template file (through the daemon); prints the new build's id.",
        "Mounts the base build copy-on-write (or an empty filesystem) as the build root and runs the steps (RUN, COPY,",
        "ENV, WORKDIR, USER, MOUNT, UNMOUNT). Each step that changed the root becomes a layer of its own, recorded in",
        "the build cache (in the store, shared by every host using it) under a key of everything the step depends on;",
        "a step whose key has an entry is not run. The new build is a layer over the last step's. The log, with step",
        "numbers, timings and cached steps, goes to stderr as the build runs."})
final class BuildCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = {"-f", "--file"}, required = true, paramLabel = "FILE", description = "The template file (YAML or JSON).")
    Path file;

    @Option(names = "--build", paramLabel = "NEW", description = "The new build's id (default: a new UUID).")
    String build;

    @Option(names = "--no-cache", description = "Run every step, even those the build cache has (their results are "
            + "still recorded).")
    boolean noCache;

    @Option(names = "--cache-from", paramLabel = "TEMPLATE", description = "Also reuse the cached steps of this "
            + "template (after the template's own); may be repeated.")
    List<String> cacheFrom = new ArrayList<>();

    @Option(names = "--squash", description = "Write the new build as one layer with the whole chain's content "
            + "(no parent), for templates whose chains grow deep.")
    boolean squash;

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
                    format.level, format.frameSize(), format.headerVersion, noCache, cacheFrom, squash);
            BuildResult result = client.build(request, line -> {
                err.println(line);
                err.flush();
            }, DaemonClient.BUILD_SILENCE_LIMIT);
            spec.commandLine().getOut().println(result.build());
        }
        return 0;
    }
}
