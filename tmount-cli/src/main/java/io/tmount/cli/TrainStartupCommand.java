package io.tmount.cli;

import io.tmount.daemon.Daemon;
import io.tmount.device.Attachers;
import io.tmount.host.TmountHost;
import io.tmount.mount.MountManagerConfig;
import io.tmount.os.Folders;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * What the launcher runs once after each build of tmount, under {@code -XX:AOTCacheOutput}, so that the JVM's
 * ahead-of-time cache holds the classes the short commands load (picocli, logging, the API client and JSON): a
 * daemon on a private state dir, store and socket in a temporary folder, a few client commands against it, then
 * everything taken down. A command's start then takes about half as long (docs/benchmarks.md, bench-build).
 */
@Command(name = "train-startup", hidden = true,
        description = "Run the command line's start-up paths once against a private daemon (for the launcher).")
final class TrainStartupCommand implements Callable<Integer> {

    private static final List<List<String>> COMMANDS = List.of(List.of("list"), List.of("list", "--json"),
            List.of("cache"), List.of("template", "list"), List.of("--help"), List.of("build", "--help"));

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("tmount-train-");
        try {
            Path store = Files.createDirectories(dir.resolve("store"));
            Map<String, String> env = Map.of("TMOUNT_STATE_DIR", dir.resolve("state").toString(),
                    "TMOUNT_RUNTIME_DIR", dir.resolve("run").toString(), "TEMPLATE_STORAGE_URL", "file://" + store);
            try (TemplateStore templates = new TemplateStore(new StoreLocation.Local(store).open());
                 Daemon daemon = Daemon.start(TmountHost.open(new MountManagerConfig(dir.resolve("state"),
                         dir.resolve("run"), templates, Attachers.onThisHost(1), Duration.ofMillis(500)),
                         dir.resolve("builds")), dir.resolve("run/tmount.sock"), Version.current(),
                         dir.resolve("state").toString())) {
                PrintWriter nowhere = new PrintWriter(Writer.nullWriter());
                int failed = 0;
                for (List<String> command : COMMANDS) {
                    // a command that fails trains its error path, not the one it is meant to: the launcher keeps no cache
                    failed += Main.run(command.toArray(String[]::new), OutputStream.nullOutputStream(), nowhere, nowhere,
                            env) == 0 ? 0 : 1;
                }
                return failed == 0 ? 0 : 1;
            }
        } finally {
            Folders.deleteTree(dir);
        }
    }
}
