package io.tmount.nbd;

import java.util.concurrent.Semaphore;

/**
 * Bytes of request payload (write data, read buffers) that NBD servers may hold at once, counted in KiB: one per
 * server, and shared ones above it (see {@link PayloadMemory}). A request waits for its bytes instead of allocating
 * past the budget, so clients get back-pressure, never an out-of-memory failure.
 */
public final class PayloadBudget {

    private final Semaphore units;
    private final int maxUnits;

    public PayloadBudget(long bytes) {
        this.maxUnits = (int) Math.min(Integer.MAX_VALUE, Math.max(1, bytes >> 10));
        this.units = new Semaphore(maxUnits);
    }

    /** The budget's size in bytes. */
    public long bytes() {
        return (long) maxUnits << 10;
    }

    /** Bytes free right now. */
    public long freeBytes() {
        return (long) units.availablePermits() << 10;
    }

    int maxUnits() {
        return maxUnits;
    }

    boolean tryAcquire(int n) {
        return units.tryAcquire(n);
    }

    void acquire(int n) throws InterruptedException {
        units.acquire(n);
    }

    void release(int n) {
        units.release(n);
    }
}
