package io.tmount.device;

import io.tmount.nbd.NbdEndpoint;
import io.tmount.os.Commands;
import io.tmount.os.HostTools;
import io.tmount.os.MountTable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Attaches through FUSE where the host has no nbd module: nbdfuse exposes the export as the file
 * {@code workDir/fuse/nbd}, and a loop device backs onto that file. Works wherever /dev/fuse and loop devices do.
 */
final class FuseLoopAttacher implements Attacher {

    private static final Logger log = LoggerFactory.getLogger(FuseLoopAttacher.class);
    private static final String PROGRAM = "nbdfuse";

    private final Path devFuse;
    private final LoopDevices loops;
    private final MountTable mountTable;
    private final Duration readyTimeout;

    public FuseLoopAttacher(Path devFuse, Path sysBlock, MountTable mountTable, Duration readyTimeout) {
        this.devFuse = devFuse;
        this.loops = new LoopDevices(sysBlock);
        this.mountTable = mountTable;
        this.readyTimeout = readyTimeout;
    }

    public static FuseLoopAttacher onThisHost() {
        return new FuseLoopAttacher(Path.of("/dev/fuse"), Path.of("/sys/block"), MountTable.ofThisProcess(),
                Duration.ofSeconds(15));
    }

    @Override
    public AttachBackend backend() {
        return AttachBackend.FUSE_LOOP;
    }

    @Override
    public Optional<String> unavailableReason() {
        if (!Files.exists(devFuse)) {
            return Optional.of(devFuse + " is missing (no FUSE support in this kernel)");
        }
        List<String> missing = HostTools.missing(PROGRAM, "libnbd-bin", "losetup", "util-linux",
                "fusermount3", "fuse3");
        return missing.isEmpty() ? Optional.empty()
                : Optional.of("missing programs: " + String.join(", ", missing));
    }

    @Override
    public AttachedDevice attach(NbdEndpoint endpoint, boolean readOnly, Path workDir) throws IOException {
        Path nbdfuse = HostTools.require(PROGRAM, "libnbd-bin", "the fuse-loop attach backend");
        Path fuseDir = workDir.resolve("fuse");
        Path pidFile = workDir.resolve("nbdfuse.pid");
        Path logFile = workDir.resolve("nbdfuse.log");
        Files.createDirectories(fuseDir);
        List<String> command = new ArrayList<>(List.of(nbdfuse.toString(), "--pidfile", pidFile.toString()));
        if (readOnly) {
            command.add("--readonly");
        }
        command.add(fuseDir.resolve("nbd").toString());
        command.add(endpoint.uri());
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(logFile.toFile()).start();
        FuseLoopDevice device = new FuseLoopDevice(process.toHandle(), fuseDir, workDir);
        try {
            awaitReady(process, pidFile, logFile);
            device.loop = loops.attach(fuseDir.resolve("nbd"), readOnly);
            return device;
        } catch (IOException | RuntimeException e) {
            try {
                device.close();
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private void awaitReady(Process process, Path pidFile, Path logFile) throws IOException {
        boolean ready = Helpers.await(readyTimeout, () -> !process.isAlive() || nonEmpty(pidFile));
        if (!process.isAlive()) {
            throw new IOException("nbdfuse exited with " + process.exitValue() + ": " + lastLine(logFile));
        }
        if (!ready) {
            throw new IOException("nbdfuse was not ready within " + readyTimeout.toSeconds() + " s: " + lastLine(logFile));
        }
    }

    @Override
    public void reclaim(DeviceRecord record) {
        // found before the unmount, which makes nbdfuse exit: a process on its way out has no command line left to
        // recognise it by, yet is not gone until its parent reaps it, so it is waited for below
        Optional<ProcessHandle> helper = record.fuseDir() == null ? Optional.empty()
                : Helpers.liveProcess(record.helperPid(), PROGRAM, record.fuseDir().toString());
        if (record.devicePath() != null && record.fuseDir() != null) {
            String backing = loops.backingFile(record.devicePath());
            if (backing != null && backing.startsWith(record.fuseDir().toString())) {
                try {
                    loops.detach(record.devicePath(), Duration.ofSeconds(5));
                } catch (IOException e) {
                    log.warn("cannot detach {}: {}", record.devicePath(), e.getMessage());
                }
            }
        }
        if (record.fuseDir() != null) {
            unmountFuse(record.fuseDir(), true);
        }
        helper.ifPresent(p -> Helpers.stop(p, Duration.ofSeconds(5)));
    }

    /**
     * What an attach leaves in its work dir before its device is recorded: nbdfuse (its pid file), the FUSE mount,
     * and a loop device over the FUSE file; found from the work dir alone and taken apart as {@link #reclaim} does.
     */
    @Override
    public void reclaimWorkDir(Path workDir) {
        Path fuseDir = workDir.resolve("fuse");
        Long pid = null;
        try {
            pid = Long.parseLong(Files.readString(workDir.resolve("nbdfuse.pid")).strip());
        } catch (IOException | NumberFormatException e) {
            // no pid file: nbdfuse had not started, or its process is found by its command line below
        }
        List<Path> devices = loops.backedBy(fuseDir);
        boolean helperAlive = pid != null && Helpers.liveProcess(pid, PROGRAM, fuseDir.toString()).isPresent();
        if (devices.isEmpty() && !helperAlive && !mountTable.isMountPoint(fuseDir)) {
            return; // nothing left, or already reclaimed through the journal's record
        }
        log.warn("reclaiming what an unrecorded fuse-loop attach left in {} (loop devices {}, nbdfuse pid {})", workDir,
                devices, pid);
        for (Path device : devices) {
            reclaim(new DeviceRecord(AttachBackend.FUSE_LOOP, device, LoopDevices.slotOf(device), pid, fuseDir));
        }
        if (devices.isEmpty()) {
            reclaim(new DeviceRecord(AttachBackend.FUSE_LOOP, null, -1, pid, fuseDir));
        }
    }

    /** Unmounts the FUSE folder (which makes nbdfuse exit); lazily if it stays busy and {@code lazyFallback}. */
    private boolean unmountFuse(Path fuseDir, boolean lazyFallback) {
        if (!mountTable.isMountPoint(fuseDir)) {
            return true;
        }
        for (int attempt = 0; attempt < 10; attempt++) {
            try {
                Commands.check(Duration.ofSeconds(15), fusermount(), "-u", fuseDir.toString());
                return true;
            } catch (IOException e) {
                if (!mountTable.isMountPoint(fuseDir)) {
                    return true;
                }
                Helpers.await(Duration.ofMillis(100), () -> false);
            }
        }
        if (lazyFallback) {
            try {
                Commands.check(Duration.ofSeconds(15), fusermount(), "-u", "-z", fuseDir.toString());
                return true;
            } catch (IOException e) {
                log.warn("cannot unmount {}: {}", fuseDir, e.getMessage());
            }
        }
        return false;
    }

    private static String fusermount() {
        return HostTools.require("fusermount3", "fuse3", "the fuse-loop attach backend").toString();
    }

    private static boolean nonEmpty(Path file) {
        try {
            return Files.size(file) > 0;
        } catch (IOException e) {
            return false;
        }
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream().filter(l -> !l.isBlank()).toList();
            return lines.isEmpty() ? "(no output)" : lines.getLast().strip();
        } catch (IOException e) {
            return "(no output)";
        }
    }

    /** A loop device over nbdfuse's file; closing takes it apart in reverse. */
    private final class FuseLoopDevice implements AttachedDevice {
        private final ProcessHandle nbdfuse;
        private final Path fuseDir;
        private final Path workDir;
        private Path loop;

        FuseLoopDevice(ProcessHandle nbdfuse, Path fuseDir, Path workDir) {
            this.nbdfuse = nbdfuse;
            this.fuseDir = fuseDir;
            this.workDir = workDir;
        }

        @Override
        public Path devicePath() {
            return loop;
        }

        @Override
        public int slot() {
            return LoopDevices.slotOf(loop);
        }

        @Override
        public DeviceRecord record() {
            return new DeviceRecord(AttachBackend.FUSE_LOOP, loop, loop == null ? -1 : slot(), nbdfuse.pid(), fuseDir);
        }

        @Override
        public Optional<String> problem() {
            if (!nbdfuse.isAlive()) {
                return Optional.of("nbdfuse (pid " + nbdfuse.pid() + ") exited: every read and write of " + loop
                        + " fails; unmount and mount again (its log: " + workDir.resolve("nbdfuse.log") + ")");
            }
            return Optional.empty();
        }

        @Override
        public void close() throws IOException {
            IOException failure = null;
            boolean loopFreed = true;
            if (loop != null) {
                try {
                    loopFreed = loops.detach(loop, Duration.ofSeconds(3));
                } catch (IOException e) {
                    failure = e;
                    loopFreed = false;
                }
            }
            if (!loopFreed) {
                // Only a lazily unmounted filesystem still uses it: the kernel frees it (autoclear) with its last user.
                log.warn("{} is still in use by a lazily unmounted filesystem; it goes when its last user does", loop);
            }
            // With the loop device gone nothing holds the FUSE file, so a plain unmount succeeds;
            // if the loop would not let go, only a lazy unmount can free the folder.
            if (!unmountFuse(fuseDir, true) && failure == null) {
                failure = new IOException("cannot unmount the FUSE folder " + fuseDir);
            }
            if (!Helpers.await(Duration.ofSeconds(loopFreed ? 10 : 1), () -> !nbdfuse.isAlive())) {
                Helpers.stop(nbdfuse, Duration.ofSeconds(2));
            }
            try {
                Files.deleteIfExists(fuseDir);
                Files.deleteIfExists(workDir.resolve("nbdfuse.pid"));
                Files.deleteIfExists(workDir.resolve("nbdfuse.log"));
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
            if (failure != null) {
                throw failure;
            }
        }
    }
}
