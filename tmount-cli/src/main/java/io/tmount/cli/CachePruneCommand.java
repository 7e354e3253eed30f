package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.TmountException;
import io.tmount.buildcache.BuildCache;
import io.tmount.buildcache.CachePrune;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;

@Command(name = "prune", description = {
        "Remove build cache entries unused for longer than --older-than, or all but the most recently used that fit",
        "in --keep-bytes, and the builds they made. A build that another build's chain still reads from (or names as",
        "its parent) is never removed: it stays, with its entry, until the builds over it are gone.",
        "Reads and writes the store directly; run it while no build is running."})
final class CachePruneCommand implements Callable<Integer> {

    @ParentCommand
    CacheCommand parent;

    @Spec
    CommandSpec spec;

    @Option(names = "--older-than", paramLabel = "DURATION",
            description = "Entries last used longer ago than this: 30d, 12h, 90m, 45s, or ISO-8601 (P7D).")
    String olderThan;

    @Option(names = "--keep-bytes", paramLabel = "SIZE",
            description = "Keep the most recently used entries whose builds hold at most this much: 10G, 500M.")
    String keepBytes;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        CachePrune.Rule rule = new CachePrune.Rule(olderThan == null ? null : duration(olderThan),
                keepBytes == null ? null : ByteSize.parse(keepBytes).bytes());
        CachePrune.Result result;
        try (TemplateStore store = parent.main.settings().openStore()) {
            result = new CachePrune(new BuildCache(store)).prune(rule);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Output.json(out, result);
            return 0;
        }
        out.printf("removed %d entries and %d builds (%s); kept %d entries whose builds other builds still use%n",
                result.removed().size(), result.deletedBuilds().size(), ByteSize.format(result.freedBytes()),
                result.inUse().size());
        return 0;
    }

    static Duration duration(String text) {
        try {
            if (text.toUpperCase(java.util.Locale.ROOT).startsWith("P")) {
                return Duration.parse(text);
            }
            long value = Long.parseLong(text.substring(0, text.length() - 1));
            return switch (text.charAt(text.length() - 1)) {
                case 'd' -> Duration.ofDays(value);
                case 'h' -> Duration.ofHours(value);
                case 'm' -> Duration.ofMinutes(value);
                case 's' -> Duration.ofSeconds(value);
                default -> throw new IllegalArgumentException();
            };
        } catch (RuntimeException e) {
            throw TmountException.invalid("--older-than '%s' is not a duration: use 30d, 12h, 90m, 45s or P7D", text);
        }
    }
}
