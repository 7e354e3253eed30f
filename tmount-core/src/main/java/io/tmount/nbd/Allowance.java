package io.tmount.nbd;

/**
 * What one server's requests may hold: its own payload budget and, on top, the shared one of its kind (mounts or
 * exports). Taken in that order and given back together, so waiting never forms a cycle.
 */
final class Allowance {

    private final PayloadBudget own;
    private final PayloadBudget shared;
    private final int maxUnits;

    Allowance(PayloadBudget own, PayloadBudget shared) {
        this.own = own;
        this.shared = shared;
        this.maxUnits = Math.min(own.maxUnits(), shared.maxUnits());
    }

    /** KiB units for {@code length} bytes, capped so one maximal request can always proceed alone. */
    int unitsFor(long length) {
        return (int) Math.min(maxUnits, Math.max(1, (length + 1023) >> 10));
    }

    boolean tryAcquire(int units) {
        if (!own.tryAcquire(units)) {
            return false;
        }
        if (shared.tryAcquire(units)) {
            return true;
        }
        own.release(units);
        return false;
    }

    void acquire(int units) throws InterruptedException {
        own.acquire(units);
        try {
            shared.acquire(units);
        } catch (InterruptedException e) {
            own.release(units);
            throw e;
        }
    }

    void release(int units) {
        shared.release(units);
        own.release(units);
    }
}
