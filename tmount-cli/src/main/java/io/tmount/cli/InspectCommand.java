package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.image.BuildReport;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "inspect", description = {
        "Show how a build is made: size, block size, generation and its chain of layers.",
        "Reads the store directly (no daemon needed)."})
final class InspectCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "BUILD", description = "Build id.")
    String build;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        BuildId id = BuildId.of(build);
        BuildReport report;
        try (TemplateStore store = main.settings().openStore()) {
            report = BuildReport.of(store, id);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Output.json(out, report);
            return 0;
        }
        out.printf("build       %s%n", report.build());
        out.printf("template    %s%n", Output.orDash(report.template()));
        out.printf("parent      %s%n", Output.orDash(report.parent()));
        out.printf("size        %s (%d bytes), block size %d%n", ByteSize.format(report.size()), report.size(),
                report.blockSize());
        out.printf("format      %s, generation %d, %d mapping(s)%n",
                report.headerless() ? "headerless (one whole layer; e2b reads it as version 1)"
                        : "header version " + report.headerVersion(),
                report.generation(), report.mappings());
        out.println("layers:");
        Output.table(out, List.of("  BUILD", "MAPPED", "SHARE", "HEADER", "DATA", "FRAMES", "STORED", "UNCOMPRESSED",
                "SHA-256"), report.layers().stream().map(l -> l.build() == null
                ? List.of("  (zeros, never fetched)", ByteSize.format(l.bytes()), share(l, report), "-", "-", "-", "-",
                        "-", "-")
                : List.of("  " + l.build().value() + (l.build().equals(report.build()) ? " (this build)" : ""),
                        ByteSize.format(l.bytes()), share(l, report),
                        l.headerVersion() == null ? "none" : "v" + l.headerVersion(),
                        l.hasData() ? l.compression() : "none (header only)",
                        l.frames() == 0 ? "-" : Integer.toString(l.frames()),
                        l.hasData() ? ByteSize.format(l.storedBytes()) : "-",
                        l.hasData() ? ByteSize.format(l.uncompressedBytes()) : "-",
                        l.sha256() == null ? "unknown" : l.sha256().substring(0, 16) + "…")).toList());
        if (!report.steps().isEmpty()) {
            out.println("steps (the build each left; \"-\" for a step that changes only the build's state):");
            Output.table(out, List.of("  STEP", "BUILD", "", "INSTRUCTION"), report.steps().stream().map(s -> List.of(
                    "  " + s.number(), s.build() == null ? "-" : s.build().value(), s.cached() ? "cached" : "ran",
                    s.step().replace('\n', ' '))).toList());
        }
        return 0;
    }

    private static String share(BuildReport.Layer layer, BuildReport report) {
        return String.format("%.1f%%", 100.0 * layer.bytes() / report.size());
    }
}
