package io.tmount.builder;

import io.tmount.TmountException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The builds in flight and their RUN-step processes, so that a stopping daemon ends them instead of leaving a step
 * (and with it the build root and its device) running after it exits.
 */
final class RunningSteps {

    private static final Logger log = LoggerFactory.getLogger(RunningSteps.class);

    private static final Duration REAP_WAIT = Duration.ofSeconds(5);

    private final Set<Process> processes = ConcurrentHashMap.newKeySet();
    private int builds; // guarded by this
    private boolean stopping; // guarded by this

    /** Counts a build in; refused once stopping. */
    synchronized void buildStarted() {
        if (stopping) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE,
                    "the daemon is stopping; it starts no new builds");
        }
        builds++;
    }

    synchronized void buildEnded() {
        builds--;
        notifyAll();
    }

    synchronized boolean stopping() {
        return stopping;
    }

    /** Tracks a step's process; one started while stopping is ended at once. */
    void started(Process process) {
        processes.add(process);
        if (stopping()) {
            end(process);
        }
    }

    void ended(Process process) {
        processes.remove(process);
    }

    /**
     * Refuses new builds, ends every running step (its descendants first: the step's unshare is the first process of
     * its pid namespace) and waits up to {@code wait} for the builds to take down their roots. True when all did.
     */
    boolean stopAll(Duration wait) {
        synchronized (this) {
            stopping = true;
        }
        processes.forEach(RunningSteps::end);
        long deadline = System.nanoTime() + wait.toNanos();
        synchronized (this) {
            while (builds > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    log.warn("{} build(s) still running after {} s of stopping", builds, wait.toSeconds());
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(this, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Kills the step's descendants and lets the step's unshare reap them and exit by itself. Killing unshare too
     * would orphan its child to the host's init, which may reap it seconds later: the step would outlive the daemon
     * as a zombie. unshare is killed only when it has not ended after {@link #REAP_WAIT} (a child forked after the
     * first kill is caught by the next round).
     */
    private static void end(Process process) {
        log.warn("stopping the RUN step pid {}: the daemon is stopping", process.pid());
        long deadline = System.nanoTime() + REAP_WAIT.toNanos();
        try {
            do {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
            } while (!process.waitFor(100, TimeUnit.MILLISECONDS) && System.nanoTime() < deadline);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        process.destroyForcibly();
    }
}
