package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.daemon.DaemonClient;
import io.tmount.daemon.Health;
import io.tmount.host.HostDoctor;
import io.tmount.host.HostDoctor.Finding;
import io.tmount.host.HostDoctor.Status;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "doctor", description = {
        "Check what this host offers against what tmount needs, and say what to do about each problem:",
        "the nbd module and its devices, FUSE, loop devices, each helper program and its version, the state and",
        "runtime dirs (permissions, free space), the template store with the configured credentials, and a",
        "running daemon and its health. Changes nothing. Exit status 1 if anything FAILs (mounting cannot work)."})
final class DoctorCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the findings as JSON.")
    boolean json;

    @Override
    public Integer call() {
        Settings settings = main.settings();
        List<Finding> findings = new ArrayList<>(HostDoctor.ofThisHost().check(settings.stateDir(),
                settings.runtimeDir(), () -> open(settings)));
        findings.add(daemon(settings));
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Output.json(out, findings);
        } else {
            Output.table(out, List.of("CHECK", "STATUS", "DETAIL"), findings.stream()
                    .map(f -> List.of(f.check(), f.status().name(), f.detail())).toList());
            List<Finding> problems = findings.stream().filter(f -> f.status() != Status.OK).toList();
            if (!problems.isEmpty()) {
                out.println();
                out.println("to do:");
                problems.forEach(f -> out.println("  " + f.check() + ": " + f.fix()));
            }
        }
        out.flush();
        return findings.stream().anyMatch(f -> f.status() == Status.FAIL) ? 1 : 0;
    }

    private static TemplateStore open(Settings settings) {
        try {
            return settings.openStore();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A daemon is optional (many commands work without one): its absence is a warning, its trouble too. */
    private static Finding daemon(Settings settings) {
        if (!Files.exists(settings.socket())) {
            return new Finding("daemon", Status.WARN, "none on " + settings.socket(),
                    "start one for mount, export and build: tmount serve (or the systemd unit in packaging/)");
        }
        try (DaemonClient client = DaemonClient.connect(settings.socket())) {
            Health health = client.health();
            String detail = "version " + health.version() + ", " + health.mounts() + " mounts, " + health.exports()
                    + " exports, store " + health.store();
            return "ok".equals(health.status()) ? Finding.ok("daemon", detail)
                    : new Finding("daemon", Status.WARN, health.status() + ": " + detail + ", "
                    + health.mountsWithProblems() + " mounts with a problem", "see `tmount list` for what is wrong");
        } catch (TmountException e) {
            return new Finding("daemon", Status.FAIL, e.getMessage(), "restart it: tmount serve (its log says why "
                    + "it stopped answering); a stale socket is removed by the next start");
        }
    }
}
