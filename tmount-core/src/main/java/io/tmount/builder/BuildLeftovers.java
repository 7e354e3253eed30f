package io.tmount.builder;

import io.tmount.os.Commands;
import io.tmount.os.Folders;
import io.tmount.os.HostTools;
import io.tmount.os.MountTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What builds of a dead run of one state dir left in the builds dir: their folders (each marked with the state dir
 * that made it), the empty-filesystem roots loop-mounted in them, and RUN steps still running in them. Used only
 * while that state dir is locked, so no build of it can be running.
 *
 * <p>Two calls at start: {@link #stopSteps()} before the mount manager takes apart the journal's mounts (a step
 * outlives its daemon and holds the build root busy, see {@code MountManager.open(config, whenLocked)}), then
 * {@link #remove()} after it.
 */
public final class BuildLeftovers {

    private static final Logger log = LoggerFactory.getLogger(BuildLeftovers.class);

    /** The file in a build folder naming the state dir whose build it is. */
    static final String OWNER = "owner";
    private static final Duration UNMOUNT_TIMEOUT = Duration.ofMinutes(1);
    private static final long REAP_WAIT_SECONDS = 5;

    private final Path buildsDir;
    private final String owner;

    public BuildLeftovers(Path buildsDir, Path stateDir) {
        this.buildsDir = buildsDir.toAbsolutePath().normalize();
        this.owner = stateDir.toString();
    }

    /**
     * Kills the RUN steps left running: a step's unshare (found by its build folder on its command line) outlives the
     * daemon, holding its mount namespace and with it the build root and its device. Descendants go first: killing the
     * pid namespace's first process ends everything in it, which unshare's --kill-child alone does not promise once the
     * step changed its uid (that clears the parent-death signal). Waits until each is reaped.
     */
    public void stopSteps() {
        for (Path folder : folders()) {
            String mark = folder + "/";
            ProcessHandle.allProcesses()
                    .filter(p -> p.pid() != ProcessHandle.current().pid())
                    .filter(p -> p.info().commandLine().map(c -> c.contains(mark)).orElse(false))
                    .forEach(BuildLeftovers::kill);
        }
    }

    /**
     * Removes the folders, with whatever is still mounted in them (the manager's mounts of those builds are
     * ephemeral, so opening it already took them apart); stops any step still running first.
     */
    public void remove() {
        stopSteps();
        for (Path folder : folders()) {
            try {
                List<MountTable.Entry> below = MountTable.ofThisProcess().mountsUnder(folder);
                for (MountTable.Entry mount : below.reversed()) {
                    Commands.check(UNMOUNT_TIMEOUT, List.of(HostTools.require("umount", "mount", "builds").toString(),
                            "--lazy", mount.mountPoint().toString()));
                }
                Folders.deleteTree(folder);
                log.warn("removed {} (and {} mount{} in it), left by a build of an earlier run", folder, below.size(),
                        below.size() == 1 ? "" : "s");
            } catch (IOException | RuntimeException e) {
                log.error("cannot remove {}, left by a build of an earlier run: {}", folder, e.getMessage());
            }
        }
    }

    /** This state dir's build folders; another state dir's build may be running right now. */
    private List<Path> folders() {
        List<Path> mine = new ArrayList<>();
        if (!Files.isDirectory(buildsDir)) {
            return mine;
        }
        try (DirectoryStream<Path> folders = Files.newDirectoryStream(buildsDir, "build-*")) {
            for (Path folder : folders) {
                Path marker = folder.resolve(OWNER);
                if (Files.isRegularFile(marker) && Files.readString(marker).equals(owner)) {
                    mine.add(folder);
                }
            }
        } catch (IOException e) {
            log.error("cannot read the builds dir {}: {}", buildsDir, e.getMessage());
        }
        return mine;
    }

    private static void kill(ProcessHandle step) {
        log.warn("stopping pid {} and its descendants, a RUN step of a build of an earlier run ({})",
                step.pid(), step.info().commandLine().orElse("?"));
        List<ProcessHandle> all = Stream.concat(step.descendants(), Stream.of(step)).toList();
        all.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle process : all) { // until reaped: a killed step holds the root until then
            process.onExit().completeOnTimeout(process, REAP_WAIT_SECONDS, TimeUnit.SECONDS).join();
        }
    }
}
