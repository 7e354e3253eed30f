package io.tmount.progress;

import java.util.concurrent.atomic.AtomicLong;

/** Adds up the bytes several passes of one piece of work move, against their total, and tells a {@link Progress}. */
public final class ProgressCounter {

    private final Progress progress;
    private final AtomicLong done = new AtomicLong();
    private volatile long total;

    public ProgressCounter(Progress progress) {
        this.progress = progress == null ? Progress.NONE : progress;
    }

    public static ProgressCounter none() {
        return new ProgressCounter(Progress.NONE);
    }

    public void total(long bytes) {
        total = bytes;
        progress.update(done.get(), bytes);
    }

    public void add(long bytes) {
        if (bytes > 0) {
            progress.update(done.addAndGet(bytes), total);
        }
    }

    /** All done: whatever the passes counted, the work is complete. */
    public void finish() {
        long all = Math.max(total, done.get());
        progress.update(all, all);
    }
}
