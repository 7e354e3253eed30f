package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.files.Change;
import io.tmount.files.FileContent;
import io.tmount.files.FileEntry;
import io.tmount.files.Fs;
import io.tmount.files.Names;
import io.tmount.files.SameBlocks;
import io.tmount.files.TreeDiff;
import io.tmount.header.Header;
import io.tmount.header.HeaderCodec;
import io.tmount.store.BuildId;
import io.tmount.store.ObjectInfo;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "diff", description = {"What changed between two builds, file by file, like virt-diff: added (+), "
        + "removed (-) and changed (M) entries, with what changed (type, content, mode, owner, target, device, "
        + "xattrs, and time with --times).",
        "Content is compared byte for byte, except where the two builds' headers prove a file unchanged: the same "
                + "extents, on blocks both builds read from the same stored bytes (kernel filesystem mode only; "
                + "--full turns this off)."})
final class DiffCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TEMPLATE", description = "Template id.")
    String template;

    @Parameters(index = "1", paramLabel = "BUILD_A", description = "The build to compare from (e.g. the parent).")
    String buildA;

    @Parameters(index = "2", paramLabel = "BUILD_B", description = "The build to compare to.")
    String buildB;

    @Parameters(index = "3", arity = "0..1", paramLabel = "PATH", defaultValue = "/",
            description = "Only what is below this folder (default: /).")
    String path;

    @Option(names = "--json", description = "Print a JSON array of changes.")
    boolean json;

    @Option(names = "--times", description = "Report modification times that differ, too.")
    boolean times;

    @Option(names = "--full", description = "Read every file whose metadata matches, even where the headers prove it "
            + "unchanged.")
    boolean full;

    @Option(names = "--stats", description = "Say on stderr how much was compared and how.")
    boolean stats;

    @Mixin
    FileOptions files;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Map<String, Object>> changes = new ArrayList<>();
        long started = System.nanoTime();
        TreeDiff.Summary summary;
        SameBlocks same = full ? null : sameBlocks();
        try (FileSession session = FileSession.open(main.settings());
             BuildRoot a = BuildRoot.mount(session, template, buildA, false, files);
             BuildRoot b = BuildRoot.mount(session, template, buildB, false, files);
             FileContent content = new FileContent(session::checkCancelled)) {
            int dirA = a.open(path, Fs.O_RDONLY | Fs.O_DIRECTORY);
            try {
                int dirB = b.open(path, Fs.O_RDONLY | Fs.O_DIRECTORY);
                try {
                    byte[] start = Names.argument(path.length() > 1 ? path.replaceAll("/+$", "") : "/");
                    summary = new TreeDiff(content, same, times, new TreeDiff.Listener() {
                        @Override
                        public void entry(byte[] at) {
                            session.checkCancelled();
                        }

                        @Override
                        public void change(Change change) {
                            if (json) {
                                changes.add(json(change));
                            } else {
                                out.println(line(change));
                            }
                        }

                        @Override
                        public void problem(byte[] at, IOException error) {
                            err.println("tmount: " + Names.display(at) + ": " + error.getMessage());
                            err.flush();
                        }
                    }).run(dirA, dirB, start);
                } finally {
                    Fs.close(dirB);
                }
            } finally {
                Fs.close(dirA);
            }
        }
        if (json) {
            Output.json(out, changes);
        }
        if (stats) {
            out.flush();
            err.printf("tmount: compared %d entries in %d ms: %d files read in full (%s read), %d proven unchanged "
                            + "by the headers%s%n", summary.entries(), (System.nanoTime() - started) / 1_000_000,
                    summary.compared(), ByteSize.format(summary.bytesRead()), summary.provenSame(),
                    same == null ? " (not asked)" : "");
        }
        return summary.problems() == 0 ? 0 : 1;
    }

    /** Which device ranges the two builds share, from their headers; null where the store cannot say. */
    private SameBlocks sameBlocks() throws IOException {
        try (TemplateStore store = main.settings().openStore()) {
            return SameBlocks.of(pieces(store, BuildId.of(buildA)), pieces(store, BuildId.of(buildB)));
        }
    }

    private static List<SameBlocks.Piece> pieces(TemplateStore store, BuildId build) {
        Header header = store.headerBytes(build, HeaderCodec.MAX_HEADER_BYTES)
                .map(bytes -> HeaderCodec.read(bytes, "the header of build " + build)).orElse(null);
        long size = header != null ? header.size()
                : store.info(TemplateStore.rootfsKey(build)).map(ObjectInfo::size).orElse(0L);
        return SameBlocks.pieces(header, build.value(), size);
    }

    private static String line(Change change) {
        String path = Names.display(change.path());
        if (change.kind() != Change.Kind.CHANGED) {
            FileEntry entry = change.a() != null ? change.a() : change.b();
            return change.kind().mark() + " " + path + (entry.type() == Fs.Type.DIR ? "/" : "");
        }
        List<String> details = new ArrayList<>();
        for (String what : change.what()) {
            details.add(switch (what) {
                case "type" -> "type " + change.a().type().id() + " -> " + change.b().type().id();
                case "mode" -> String.format("mode %04o -> %04o", change.a().stat().mode(), change.b().stat().mode());
                case "owner" -> "owner " + owner(change.a()) + " -> " + owner(change.b());
                case "target" -> "target " + Names.display(change.a().target()) + " -> "
                        + Names.display(change.b().target());
                case "content" -> change.a().stat().size() == change.b().stat().size() ? "content"
                        : "content (size " + change.a().stat().size() + " -> " + change.b().stat().size() + ")";
                default -> what;
            });
        }
        return "M " + path + "  " + String.join(", ", details);
    }

    private static String owner(FileEntry entry) {
        return Integer.toUnsignedString(entry.stat().uid()) + ":" + Integer.toUnsignedString(entry.stat().gid());
    }

    private static Map<String, Object> json(Change change) {
        Map<String, Object> object = new LinkedHashMap<>();
        object.put("change", change.kind().name().toLowerCase(java.util.Locale.ROOT));
        object.put("path", Names.display(change.path()));
        if (!change.what().isEmpty()) {
            object.put("what", change.what());
        }
        if (change.a() != null) {
            object.put("a", EntryFormat.json(change.a()));
        }
        if (change.b() != null) {
            object.put("b", EntryFormat.json(change.b()));
        }
        return object;
    }
}
