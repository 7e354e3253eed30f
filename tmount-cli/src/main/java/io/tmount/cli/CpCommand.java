package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.files.Fs;
import io.tmount.mount.CommitResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "cp", description = {"Copy files out of a build, or into one as a new layered build.",
        "  tmount cp TEMPLATE BUILD:PATH DEST          copy out (like virt-copy-out)",
        "  tmount cp SRC TEMPLATE BUILD:PATH --build NEW   copy in, committed as build NEW over BUILD",
        "Files and folders keep modes, owners, times, links, hard links, devices, sparse holes and extended "
                + "attributes (GNU cp -a). PATH resolves inside the build; a link that is PATH's last name is "
                + "copied as the link. Copying in replaces what is in the way, links included (never writing "
                + "through them)."})
final class CpCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "3", paramLabel = "ARG", description = "TEMPLATE BUILD:PATH DEST, or SRC TEMPLATE BUILD:PATH.")
    List<String> args;

    @Option(names = "--build", paramLabel = "NEW", description = "Copying in: the new build's id (default: a new "
            + "UUID).")
    String newBuild;

    @Mixin
    FileOptions files;

    @Override
    public Integer call() throws IOException {
        if (args.get(1).contains(":")) {
            if (newBuild != null) {
                throw TmountException.invalid("--build is for copying in (tmount cp SRC TEMPLATE BUILD:PATH)");
            }
            return copyOut(args.get(0), args.get(1), Path.of(args.get(2)).toAbsolutePath());
        }
        if (args.get(2).contains(":")) {
            return copyIn(Path.of(args.get(0)).toAbsolutePath(), args.get(1), args.get(2));
        }
        throw TmountException.invalid("name the build's side as BUILD:PATH: tmount cp TEMPLATE BUILD:PATH DEST, or "
                + "tmount cp SRC TEMPLATE BUILD:PATH --build NEW");
    }

    private int copyOut(String template, String buildPath, Path dest) throws IOException {
        String build = buildPath.substring(0, buildPath.indexOf(':'));
        String path = inBuild(buildPath);
        try (FileSession session = FileSession.open(main.settings());
             BuildRoot root = BuildRoot.mount(session, template, build, false, files);
             BuildRoot.Located source = root.locate(path)) {
            // --remove-destination: a link already at DEST (say from an earlier copy of a hostile build) is replaced,
            // never written through
            cp(session, List.of("cp", "-a", "--remove-destination", "--", source.procPath(), dest.toString()),
                    source.procPath(), path, "copying " + path, shown()
                            ? DataBytes.under(source.parentFd(), source.name(), session::checkCancelled) : 0);
        }
        return 0;
    }

    private int copyIn(Path source, String template, String buildPath) throws IOException {
        if (!Files.exists(source, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw TmountException.notFound("%s does not exist", source);
        }
        if (source.getParent() == null) {
            throw TmountException.invalid("copying this host's / into a build is refused; name a folder");
        }
        String build = buildPath.substring(0, buildPath.indexOf(':'));
        String path = inBuild(buildPath);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Output.warnIfNotUuid(err, newBuild);
        try (FileSession session = FileSession.open(main.settings());
             BuildRoot root = BuildRoot.mount(session, template, build, true, files)) {
            long total = 0;
            if (shown()) {
                int parent = Fs.openDirectory(source.getParent());
                try {
                    total = DataBytes.under(parent, io.tmount.files.Names.argument(source.getFileName().toString()),
                            session::checkCancelled);
                } finally {
                    Fs.close(parent);
                }
            }
            try (BuildRoot.Located target = destination(root, path)) {
                cp(session, List.of("cp", "-a", "--remove-destination", "--", source.toString(), target.procPath()),
                        target.procPath(), path, "copying " + source.getFileName(), total);
            }
            CommitResult result;
            try (ProgressDisplay.Task task = main.progress(err).start("storing the new build", 0)) {
                result = Tasks.failing(task, () -> session.commit(root.path(), newBuild, task::update));
            }
            if (result.build() == null) {
                err.println("tmount: nothing changed: no build stored");
                return 0;
            }
            out.println(result.build());
            err.printf("tmount: copied %s into %s and stored it as build %s over %s (%d ms)%n", source, path,
                    result.build(), result.parent(), result.millis());
        }
        return 0;
    }

    /** An existing folder (links followed inside the build) takes the copy into it; else PATH names the copy. */
    private static BuildRoot.Located destination(BuildRoot root, String path) throws IOException {
        try {
            return new BuildRoot.Located(root.open(path, Fs.O_PATH | Fs.O_DIRECTORY), new byte[0], path);
        } catch (TmountException notAFolder) {
            String trimmed = path.replaceAll("/+$", "");
            int slash = trimmed.lastIndexOf('/');
            String parent = slash <= 0 ? "/" : trimmed.substring(0, slash);
            int parentFd = root.open(parent, Fs.O_PATH | Fs.O_DIRECTORY);
            return new BuildRoot.Located(parentFd, io.tmount.files.Names.argument(trimmed.substring(slash + 1)), path);
        }
    }

    private void cp(FileSession session, List<String> command, String shownAs, String path, String task,
                    long total) throws IOException {
        int status;
        try (ProgressDisplay.Task progress = main.progress(spec.commandLine().getErr()).start(task, total)) {
            status = ChildProcess.run(session, new ProcessBuilder(command), main.raw(), spec.commandLine().getErr(),
                    ChildProcess.replacing(shownAs, path), progress);
        }
        if (status != 0) {
            throw new TmountException(TmountException.Kind.FAILED, "cp failed (exit status " + status + ")");
        }
    }

    private boolean shown() {
        return main.progress(spec.commandLine().getErr()).shown();
    }

    private static String inBuild(String buildPath) {
        String path = buildPath.substring(buildPath.indexOf(':') + 1);
        if (path.isEmpty()) {
            return "/";
        }
        return path.startsWith("/") ? path : "/" + path;
    }
}
