package io.tmount.nbd;

import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/** The requests of a connection still running on their own threads, so the connection ends only after them. */
final class Inflight {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition idle = lock.newCondition();
    private int running;

    /** Runs the task on a virtual thread of its own, counted until it ends. */
    void start(Runnable task) {
        lock.lock();
        try {
            running++;
        } finally {
            lock.unlock();
        }
        Thread.ofVirtual().name("nbd-request").start(() -> {
            try {
                task.run();
            } finally {
                lock.lock();
                try {
                    if (--running == 0) {
                        idle.signalAll();
                    }
                } finally {
                    lock.unlock();
                }
            }
        });
    }

    /** Waits until every started task has ended. */
    void awaitIdle() {
        lock.lock();
        try {
            while (running > 0) {
                idle.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }
}
