package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.files.FileContent;
import io.tmount.files.FileEntry;
import io.tmount.files.Fs;
import io.tmount.files.Manifest;
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
import java.io.UncheckedIOException;
import java.util.concurrent.Callable;

@Command(name = "manifest", description = {"One line per file of a build, in mtree's syntax (like systemd-dissect "
        + "--mtree): path, type, mode, owner, size, link target, device, SHA-256, extended attributes.",
        "Stable order (depth first, names bytewise), so two builds' manifests compare with any diff tool. Names are "
                + "written as mtree does: bytes other than printable ASCII, space and backslash as \\ooo."})
final class ManifestCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Mixin
    BuildArgs ids;

    @Parameters(index = "2", arity = "0..1", paramLabel = "PATH", defaultValue = "/",
            description = "Only what is below this folder (default: /).")
    String path;

    @Option(names = "--hash", paramLabel = "ALGORITHM", defaultValue = "sha256",
            description = "sha256 (each file's content hash) or none. Default: ${DEFAULT-VALUE}.")
    String hash;

    @Option(names = "--times", description = "Add each entry's modification time (time=SECONDS.NANOS).")
    boolean times;

    @Mixin
    FileOptions files;

    @Override
    public Integer call() throws IOException {
        if (!hash.equals("sha256") && !hash.equals("none")) {
            throw TmountException.invalid("hash '%s' is unknown; accepted: sha256, none", hash);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int[] problems = {0};
        try (FileSession session = FileSession.open(main.settings());
             BuildRoot root = BuildRoot.mount(session, ids.template, ids.build, false, files);
             FileContent content = new FileContent(session::checkCancelled)) {
            Manifest manifest = new Manifest(content, hash.equals("sha256"), times, out);
            int dir = root.open(path, Fs.O_RDONLY | Fs.O_DIRECTORY);
            try {
                byte[] start = Names.argument(path.length() > 1 ? path.replaceAll("/+$", "") : "/");
                new TreeWalker(true).walk(dir, start, new TreeWalker.Visitor() {
                    @Override
                    public void visit(FileEntry entry, int dirFd, byte[] name) throws IOException {
                        session.checkCancelled();
                        try {
                            manifest.write(entry, dirFd, name);
                        } catch (Fs.FsException e) {
                            problem(entry.path(), e);
                        }
                    }

                    @Override
                    public void problem(byte[] at, IOException error) {
                        problems[0]++;
                        err.println("tmount: " + Names.display(at) + ": " + error.getMessage());
                        err.flush();
                    }
                });
            } catch (UncheckedIOException e) {
                throw e.getCause();
            } finally {
                Fs.close(dir);
            }
        }
        return problems[0] == 0 ? 0 : 1;
    }
}
