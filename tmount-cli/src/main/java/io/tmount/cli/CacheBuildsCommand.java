package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.buildcache.BuildCache;
import io.tmount.buildcache.CacheEntry;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "builds", description = {
        "List the build cache's entries, most recently used first: per template, each cached step, the build it",
        "left, the bytes that build holds of its own, and when it was recorded and last used.",
        "Reads the store directly (no daemon needed)."})
final class CacheBuildsCommand implements Callable<Integer> {

    @ParentCommand
    CacheCommand parent;

    @Spec
    CommandSpec spec;

    @Option(names = "--template", paramLabel = "TEMPLATE", description = "Only this template's entries.")
    String template;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        List<CacheEntry> entries;
        try (TemplateStore store = parent.main.settings().openStore()) {
            entries = new BuildCache(store).list(template == null ? null : TemplateId.of(template));
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Output.json(out, entries);
            return 0;
        }
        if (entries.isEmpty()) {
            out.println("the build cache is empty");
            return 0;
        }
        Output.table(out, List.of("TEMPLATE", "STEP", "BUILD", "SIZE", "CREATED", "LAST USED"), entries.stream()
                .map(e -> List.of(e.template().value(), Output.shorten(e.step().replace('\n', ' '), 48),
                        e.build().value() + (e.ownBuild() ? "" : " (its parent: changed nothing)"),
                        ByteSize.format(e.bytes()), e.createdAt().toString(), e.lastUsed().toString())).toList());
        long total = entries.stream().mapToLong(CacheEntry::bytes).sum();
        out.printf("%d entries, %s of builds of their own%n", entries.size(), ByteSize.format(total));
        return 0;
    }
}
