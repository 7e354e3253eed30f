package io.tmount.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Runs the command line in-process with its own state dir, runtime dir and store under {@code dir}, never the defaults. */
final class CliRunner {

    record Result(int status, String out, String err) {
    }

    final Map<String, String> env = new HashMap<>();

    CliRunner(Path dir) {
        env.put("TMOUNT_STATE_DIR", dir.resolve("state").toString());
        env.put("TMOUNT_RUNTIME_DIR", dir.resolve("run").toString());
        env.put("TEMPLATE_STORAGE_URL", "file://" + dir.resolve("store"));
    }

    Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(err), env);
        return new Result(status, out.toString(), err.toString());
    }
}
