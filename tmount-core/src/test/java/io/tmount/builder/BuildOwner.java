package io.tmount.builder;

import io.tmount.device.Attachers;
import io.tmount.mount.Checkpoints;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountManagerConfig;
import io.tmount.store.BuildId;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateStore;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A daemon stand-in that runs one template build and is killed by {@link BuildCrashTest} at a named
 * {@link Checkpoints} point (it writes the marker file there and waits for SIGKILL), or while a RUN step runs.
 * Arguments: stateDir runtimeDir storeDir buildsDir templateFile build point markerFile.
 */
public final class BuildOwner {

    public static void main(String[] args) throws Exception {
        String point = args[6];
        Path marker = Path.of(args[7]);
        Checkpoints stop = reached -> {
            if (reached.equals(point)) {
                try {
                    // whole or not at all: the test polls for the file and reads it at once
                    io.tmount.os.AtomicFiles.replace(marker, reached.getBytes());
                    Thread.sleep(Long.MAX_VALUE);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        TemplateStore store = new TemplateStore(new StoreLocation.Local(Path.of(args[2])).open());
        MountManager manager = MountManager.open(new MountManagerConfig(Path.of(args[0]), Path.of(args[1]), store,
                Attachers.onThisHost(4), Duration.ofMillis(500)).withCheckpoints(stop));
        BuildRunner runner = new BuildRunner(manager, Path.of(args[3]), stop);
        Path templateFile = Path.of(args[4]);
        runner.run(new TemplateFileParser().parse(Files.readString(templateFile), templateFile.getParent()),
                BuildId.of(args[5]), line -> System.out.println(line));
        io.tmount.os.AtomicFiles.replace(marker, ("finished without reaching " + point).getBytes());
        Thread.sleep(Long.MAX_VALUE);
    }
}
