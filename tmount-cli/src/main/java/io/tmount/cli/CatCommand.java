package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.files.Fs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.Callable;

@Command(name = "cat", description = {"Print a file of a build, like virt-cat: no mount to manage.",
        "PATH resolves inside the build: a link to /etc/x reads the build's /etc/x, never the host's."})
final class CatCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Mixin
    BuildArgs ids;

    @Parameters(index = "2", paramLabel = "PATH", description = "A file inside the build.")
    String path;

    @Mixin
    FileOptions files;

    @Override
    public Integer call() throws IOException {
        spec.commandLine().getOut().flush();
        OutputStream out = main.raw();
        try (FileSession session = FileSession.open(main.settings());
             BuildRoot root = BuildRoot.mount(session, ids.template, ids.build, false, files)) {
            int probe = root.open(path, Fs.O_PATH);
            Fs.Type type;
            try {
                type = Fs.stat(probe, new byte[0]).type();
            } finally {
                Fs.close(probe);
            }
            if (type != Fs.Type.FILE) {
                throw TmountException.invalid("%s in the build is a %s, not a file", path, type.id());
            }
            int fd = root.open(path, Fs.O_RDONLY);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buffer = arena.allocate(1 << 20);
                byte[] bytes = new byte[1 << 20];
                int n;
                while ((n = Fs.read(fd, buffer)) > 0) {
                    session.checkCancelled();
                    MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, bytes, 0, n);
                    out.write(bytes, 0, n);
                }
                out.flush();
            } finally {
                Fs.close(fd);
            }
        }
        return 0;
    }
}
