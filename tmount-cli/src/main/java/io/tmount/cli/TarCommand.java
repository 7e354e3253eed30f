package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.files.Fs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "tar", description = {"Write a build's tree as a tar stream, like virt-tar-out: owners (numeric), "
        + "modes, times, links, hard links, devices, sparse files and extended attributes kept (GNU tar, POSIX "
        + "format, members sorted by name).",
        "A folder's contents are stored as ./NAME; any other PATH as itself (a link as the link)."})
final class TarCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Mixin
    BuildArgs ids;

    @Parameters(index = "2", arity = "0..1", paramLabel = "PATH", defaultValue = "/",
            description = "What to store (default: /).")
    String path;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE",
            description = "Where to write the archive; - for standard output.")
    String output;

    @Mixin
    FileOptions files;

    @Override
    public Integer call() throws IOException {
        boolean toStdout = output.equals("-");
        if (toStdout && main.raw() == System.out && System.console() != null && System.console().isTerminal()) {
            throw TmountException.invalid("refusing to write a tar archive to a terminal; use -o FILE or a pipe");
        }
        Path file = toStdout ? null : Path.of(output).toAbsolutePath();
        if (file != null && Files.isDirectory(file)) {
            throw TmountException.invalid("%s is a folder; -o names the archive file", file);
        }
        spec.commandLine().getOut().flush();
        boolean partial = false;
        try (FileSession session = FileSession.open(main.settings());
             BuildRoot root = BuildRoot.mount(session, ids.template, ids.build, false, files)) {
            List<String> command = new ArrayList<>(List.of("tar", "--create", "--file=-", "--format=posix", "--sort=name",
                    "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "--sparse", "--one-file-system"));
            BuildRoot.Located located = locate(root);
            try (located) {
                String proc = located.procPath();
                if (located.name().length == 0) {
                    command.addAll(List.of("-C", proc, "."));
                } else {
                    int slash = proc.lastIndexOf('/');
                    command.addAll(List.of("-C", proc.substring(0, slash), "--", proc.substring(slash + 1)));
                }
                ProcessBuilder builder = new ProcessBuilder(command);
                if (file != null) {
                    builder.redirectOutput(file.toFile());
                    partial = true;
                }
                int status;
                ProgressDisplay display = main.progress(spec.commandLine().getErr());
                try (ProgressDisplay.Task progress = display.start("archiving " + path, display.shown()
                        ? DataBytes.under(located.parentFd(), located.name(), session::checkCancelled) : 0)) {
                    status = ChildProcess.run(session, builder, main.raw(), spec.commandLine().getErr(),
                            ChildProcess.replacing(proc, path), progress);
                }
                if (status != 0) {
                    throw new TmountException(TmountException.Kind.FAILED, "tar failed (exit status " + status + ")");
                }
                partial = false;
            }
        } finally {
            if (partial) {
                Files.deleteIfExists(file); // a partial archive is worse than none
            }
        }
        return 0;
    }

    /** A folder (links followed, inside the build) by its contents; anything else as itself. */
    private BuildRoot.Located locate(BuildRoot root) throws IOException {
        try {
            int dir = root.open(path, Fs.O_PATH | Fs.O_DIRECTORY);
            return new BuildRoot.Located(dir, new byte[0], path);
        } catch (TmountException notADirectory) {
            return root.locate(path);
        }
    }
}
