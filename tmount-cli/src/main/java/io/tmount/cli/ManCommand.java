package io.tmount.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "man", description = {
        "Write tmount's manual pages (roff), generated from the command definitions: tmount(1) and one per",
        "command, tmount-mount(1) and so on. Without --dir, prints tmount(1); `man -l` shows a page."})
final class ManCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", paramLabel = "DIR", description = "Write every page into DIR (e.g. /usr/local/share/man/man1).")
    Path dir;

    @Override
    public Integer call() throws IOException {
        Map<String, String> pages = ManPages.all(spec.root().commandLine(), Version.current());
        PrintWriter out = spec.commandLine().getOut();
        if (dir == null) {
            out.print(pages.get("tmount.1"));
        } else {
            Files.createDirectories(dir);
            for (Map.Entry<String, String> page : pages.entrySet()) {
                Files.writeString(dir.resolve(page.getKey()), page.getValue());
            }
            out.println("wrote " + pages.size() + " pages to " + dir);
        }
        out.flush();
        return 0;
    }
}
