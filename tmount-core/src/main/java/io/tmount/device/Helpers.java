package io.tmount.device;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/** Small waits and process checks shared by the backends. */
final class Helpers {

    private Helpers() {
    }

    /** Polls until the condition holds or the timeout passes; returns whether it held. */
    static boolean await(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long sleepMillis = 5;
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(sleepMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return condition.getAsBoolean();
            }
            sleepMillis = Math.min(100, sleepMillis * 2);
        }
    }

    /**
     * The live process with this pid whose command line mentions both {@code program} and {@code mark} (a path only
     * that helper was given), if any: pids get reused, and a reused one must never be killed.
     */
    static Optional<ProcessHandle> liveProcess(Long pid, String program, String mark) {
        if (pid == null) {
            return Optional.empty();
        }
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(p -> {
            try {
                String cmdline = Files.readString(Path.of("/proc", pid.toString(), "cmdline")).replace('\0', ' ');
                return cmdline.contains(program) && cmdline.contains(mark);
            } catch (Exception e) {
                return false;
            }
        });
    }

    /** Asks a process to end, then forces it; waits for it. */
    static void stop(ProcessHandle process, Duration grace) {
        process.destroy();
        if (!await(grace, () -> !process.isAlive())) {
            process.destroyForcibly();
            await(Duration.ofSeconds(5), () -> !process.isAlive());
        }
    }
}
