package io.tmount.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "run", description = {"Run a command with a build's root as its working folder, read-only, like "
        + "systemd-dissect --with; the build is unmounted when it ends.",
        "The command runs on this host, as this user, with TMOUNT_ROOT set to the root's path. It is not confined: "
                + "the build's absolute links (etc -> /etc) lead to this host's files, even on relative paths, and "
                + "the command can write there. For a build you do not trust, read it with cat, cp or tar (which "
                + "resolve inside the build), or chroot \"$TMOUNT_ROOT\" yourself. Exit status: the command's."})
final class RunCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Mixin
    BuildArgs ids;

    @Parameters(index = "2..*", arity = "1..*", paramLabel = "CMD", description = "The command and its arguments "
            + "(after --).")
    List<String> command;

    @Mixin
    FileOptions files;

    @Override
    public Integer call() throws IOException {
        spec.commandLine().getOut().flush();
        try (FileSession session = FileSession.open(main.settings());
             BuildRoot root = BuildRoot.mount(session, ids.template, ids.build, false, files)) {
            Path path = root.path();
            ProcessBuilder builder = new ProcessBuilder(command).directory(path.toFile());
            builder.environment().put("TMOUNT_ROOT", path.toString());
            return ChildProcess.run(session, builder, main.raw(), spec.commandLine().getErr(), line -> line);
        }
    }
}
