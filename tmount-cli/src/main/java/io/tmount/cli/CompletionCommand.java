package io.tmount.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;

@Command(name = "completion", description = {
        "Print the shell completion script for tmount (bash; zsh loads it too with bashcompinit),",
        "generated from the command definitions: source it, or install it as",
        "/usr/share/bash-completion/completions/tmount (packaging/install does)."})
final class CompletionCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        out.print(AutoComplete.bash("tmount", spec.root().commandLine()));
        out.flush();
    }
}
