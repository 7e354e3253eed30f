package io.tmount.image;

/**
 * Sequential-access detection for one reader of one chunk cache (one mount's view of one layer). A read that starts
 * at most one chunk past the furthest chunk read so far, and not far behind it, continues a sequential streak
 * (requests of one stream arrive a little out of order over several connections). Once a streak has moved on
 * {@link #STREAK} times, the chunks after it are fetched ahead, one at first, then a window that doubles with each
 * new chunk up to its maximum ({@link #MAX_WINDOW} by default; {@link FetchPolicy#readAhead}): a long copy keeps
 * several fetches in flight, while random reads, and the scattered metadata reads of mounting a filesystem, fetch
 * nothing they did not ask for.
 */
final class ReadAhead {

    public static final int MAX_WINDOW = 8;
    static final int STREAK = 2;

    private final int maxWindow;

    private long lastChunk = -2;
    private int streak;
    private int window;
    private long claimed = -1;

    /** With the default window of {@link #MAX_WINDOW} chunks. */
    ReadAhead() {
        this(MAX_WINDOW);
    }

    ReadAhead(int maxWindow) {
        this.maxWindow = maxWindow;
    }

    /** Records a read of chunks {@code first..last}; returns how many chunks after {@code last} to fetch ahead. */
    synchronized int next(long first, long last) {
        boolean sequential = first <= lastChunk + 1 && first >= lastChunk - Math.max(1, maxWindow);
        if (!sequential) {
            streak = 0;
            window = 0;
            claimed = -1;
            lastChunk = last;
        } else if (last > lastChunk) {
            streak++;
            window = streak < STREAK || maxWindow == 0 ? 0 : Math.min(maxWindow, Math.max(1, window * 2));
            lastChunk = last;
        }
        return window;
    }

    /**
     * Claims the chunks up to {@code upTo} for reading ahead and returns the first of {@code from..upTo} no earlier
     * call claimed (past {@code upTo}: none is new), so a stream asks for each chunk ahead once.
     */
    synchronized long claim(long from, long upTo) {
        long start = Math.max(from, claimed + 1);
        claimed = Math.max(claimed, upTo);
        return start;
    }
}
