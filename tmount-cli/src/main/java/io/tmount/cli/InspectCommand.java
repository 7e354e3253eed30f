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
        try (TemplateStore store = new TemplateStore(main.settings().store().open())) {
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
                report.headerless() ? "headerless (one whole layer)" : "layered (header version 3)",
                report.generation(), report.mappings());
        out.println("layers:");
        Output.table(out, List.of("  BUILD", "BYTES", "SHARE"), report.layers().stream().map(l -> List.of(
                "  " + (l.build() == null ? "(zeros, never fetched)" : l.build().value()
                        + (l.build().equals(report.build()) ? " (this build)" : "")),
                ByteSize.format(l.bytes()),
                String.format("%.1f%%", 100.0 * l.bytes() / report.size()))).toList());
        return 0;
    }
}
