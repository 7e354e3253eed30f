package io.tmount.cli;

import io.tmount.TmountException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.util.Map;

/** The tmount command line. Every command is a thin call into tmount-core or into the daemon's API. */
@Command(name = "tmount", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT, versionProvider = Version.class,
        description = "Mount VM template root filesystems (ext4 images in a template store) onto host paths through NBD.",
        subcommands = {ServeCommand.class, MountCommand.class, UnmountCommand.class, ExportCommand.class,
                UnexportCommand.class, ListCommand.class,
                LsCommand.class, CatCommand.class, CpCommand.class, TarCommand.class, RunCommand.class,
                DiffCommand.class, ManifestCommand.class,
                CommitCommand.class, BuildCommand.class, SquashCommand.class, InspectCommand.class, VerifyCommand.class, CacheCommand.class,
                PrefetchCommand.class,
                TemplateCommand.class,
                StoreReadCommand.class, FramesBenchCommand.class, DelayProxyCommand.class, DoctorCommand.class, CompletionCommand.class,
                ManCommand.class,
                DemoCommand.class, TrainStartupCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit status: 0 on success, 1 on an error (one line on stderr), 2 on a usage error."})
public final class Main implements Runnable {

    @Mixin
    GlobalOptions global;

    @Spec
    CommandSpec spec;

    private final Map<String, String> env;
    private final OutputStream raw;

    Main(Map<String, String> env, OutputStream raw) {
        this.env = env;
        this.raw = raw;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, new PrintWriter(System.out, true), new PrintWriter(System.err, true),
                System.getenv()));
    }

    /** Runs one command line; returns its exit status. */
    static int run(String[] args, PrintWriter out, PrintWriter err, Map<String, String> env) {
        return run(args, System.out, out, err, env);
    }

    /**
     * The same, with {@code raw} for the bytes of cat and tar (the same stream as {@code out}, which callers flush
     * before writing raw bytes).
     */
    static int run(String[] args, OutputStream raw, PrintWriter out, PrintWriter err, Map<String, String> env) {
        CommandLine cli = new CommandLine(new Main(env, raw));
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionStrategy(parseResult -> {
            boolean debug = parseResult.matchedOptionValue("--debug", false);
            String command = parseResult.subcommand() == null ? "" : parseResult.subcommand().commandSpec().name();
            Logging.configure(command.equals("serve"), debug);
            return new CommandLine.RunLast().execute(parseResult);
        });
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            boolean debug = parseResult.matchedOptionValue("--debug", false);
            commandLine.getErr().println("tmount: " + describe(e));
            if (debug) {
                e.printStackTrace(commandLine.getErr());
            }
            commandLine.getErr().flush();
            return 1;
        });
        int status = cli.execute(args);
        out.flush();
        err.flush();
        return status;
    }

    private static String describe(Exception e) {
        if (e instanceof TmountException || (e instanceof java.io.IOException && e.getMessage() != null)) {
            return e.getMessage();
        }
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }

    /** Standard output as bytes. */
    OutputStream raw() {
        return raw;
    }

    /** How this command shows progress (see --progress). */
    ProgressDisplay progress(PrintWriter err) {
        return ProgressDisplay.of(global.progress, err, env);
    }

    Settings settings() {
        return Settings.resolve(global, env);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
