package io.tmount.cli;

import java.io.ByteArrayOutputStream;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Runs the command line in-process with its own state dir, runtime dir and store under {@code dir}, never the defaults. */
final class CliRunner {

    record Result(int status, String out, String err, byte[] bytes) {
    }

    final Map<String, String> env = new HashMap<>();

    CliRunner(Path dir) {
        env.put("TMOUNT_STATE_DIR", dir.resolve("state").toString());
        env.put("TMOUNT_RUNTIME_DIR", dir.resolve("run").toString());
        env.put("TEMPLATE_STORAGE_URL", "file://" + dir.resolve("store"));
    }

    Result run(String... args) {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        int status = Main.run(args, raw, new PrintWriter(new OutputStreamWriter(raw, StandardCharsets.UTF_8)),
                new PrintWriter(err), env);
        return new Result(status, raw.toString(StandardCharsets.UTF_8), err.toString(), raw.toByteArray());
    }
}
