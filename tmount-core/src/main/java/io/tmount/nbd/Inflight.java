package io.tmount.nbd;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The requests of a connection still running on their own threads, so the connection ends only after them; at most
 * {@code max} at once: past that the reader waits for one to end before it reads on, and the client's further
 * requests wait in its socket (so a client pipelining requests without end costs a bounded number of threads).
 */
final class Inflight {

    /** Called before the reader waits for room: replies it holds back (its batch) must not wait with it. */
    interface BeforeWaiting {
        void run() throws IOException;
    }

    private final int max;
    private final BeforeWaiting beforeWaiting;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private int running;

    Inflight(int max, BeforeWaiting beforeWaiting) {
        if (max < 1) {
            throw new IllegalArgumentException("max (" + max + ") must be >= 1");
        }
        this.max = max;
        this.beforeWaiting = beforeWaiting;
    }

    /** Runs the task on a virtual thread of its own, counted until it ends; first waits for room if there is none. */
    void start(Runnable task) throws IOException {
        if (running() >= max) {
            beforeWaiting.run(); // outside the lock: it writes to the socket
        }
        lock.lock();
        try {
            while (running >= max) {
                changed.await();
            }
            running++;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for a request to end");
        } finally {
            lock.unlock();
        }
        Thread.ofVirtual().name("nbd-request").start(() -> {
            try {
                task.run();
            } finally {
                lock.lock();
                try {
                    running--;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
        });
    }

    /** How many requests run right now. */
    int running() {
        lock.lock();
        try {
            return running;
        } finally {
            lock.unlock();
        }
    }

    /** Waits until every started task has ended. */
    void awaitIdle() {
        lock.lock();
        try {
            while (running > 0) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }
}
