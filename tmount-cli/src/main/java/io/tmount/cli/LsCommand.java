package io.tmount.cli;

import io.tmount.files.FileEntry;
import io.tmount.files.Fs;
import io.tmount.files.Names;
import io.tmount.files.TreeWalker;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "ls", description = {"List files of a build, like virt-ls: no mount to manage.",
        "Mounts the build read-only for the command's length (through the daemon if one runs). Links are listed, "
                + "never followed, except in PATH itself, which resolves inside the build. Names that are not "
                + "printable UTF-8 are shown escaped (\\n, \\t, \\\\, \\xHH)."})
final class LsCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Mixin
    BuildArgs ids;

    @Parameters(index = "2", arity = "0..1", paramLabel = "PATH", defaultValue = "/",
            description = "A folder or file inside the build (default: /).")
    String path;

    @Option(names = "-l", description = "Long listing: mode, links, owner, group, size, time (UTC), name.")
    boolean longListing;

    @Option(names = "-R", description = "Recursive: everything below PATH, each with its full path.")
    boolean recursive;

    @Option(names = "--json", description = "Print a JSON array of entries.")
    boolean json;

    @Mixin
    FileOptions files;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Map<String, Object>> entries = new ArrayList<>();
        int[] problems = {0};
        try (FileSession session = FileSession.open(main.settings());
             BuildRoot root = BuildRoot.mount(session, ids.template, ids.build, false, files)) {
            int start = root.open(path, Fs.O_PATH);
            try {
                Fs.Stat stat = Fs.stat(start, new byte[0]);
                byte[] shown = Names.argument(path.length() > 1 ? path.replaceAll("/+$", "") : path);
                TreeWalker walker = new TreeWalker(json);
                if (stat.type() != Fs.Type.DIR) {
                    FileEntry entry = walker.entry(start, new byte[0], shown);
                    print(out, entries, entry, true);
                } else {
                    int dir = root.open(path, Fs.O_RDONLY | Fs.O_DIRECTORY);
                    try {
                        walker.walk(dir, shown, new TreeWalker.Visitor() {
                            @Override
                            public void visit(FileEntry entry, int dirFd, byte[] name) {
                                session.checkCancelled();
                                if (entry.path() != shown) {
                                    print(out, entries, entry, recursive);
                                }
                            }

                            @Override
                            public boolean descend(FileEntry directory) {
                                return recursive || directory.path() == shown;
                            }

                            @Override
                            public void problem(byte[] at, IOException error) {
                                problems[0]++;
                                err.println("tmount: " + Names.display(at) + ": " + error.getMessage());
                            }
                        });
                    } finally {
                        Fs.close(dir);
                    }
                }
            } finally {
                Fs.close(start);
            }
        }
        if (json) {
            Output.json(out, entries);
        }
        return problems[0] == 0 ? 0 : 1;
    }

    private void print(PrintWriter out, List<Map<String, Object>> entries, FileEntry entry, boolean fullPath) {
        if (json) {
            entries.add(EntryFormat.json(entry));
            return;
        }
        String name = fullPath ? entry.displayPath() : Names.display(entry.name());
        out.println(longListing ? EntryFormat.longLine(entry, name) : name);
    }
}
