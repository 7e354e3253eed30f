package io.tmount.image;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The chunk fetches of every build's cache, and how far ahead a sequential reader fetches. Which fetches run now: at most {@code total} at once, {@code perBuild} for one
 * build object. A fetch a reader waits for ({@link Priority#DEMAND}) starts at once, whatever is running, and counts;
 * read-ahead and background prefetch wait in queues, read-ahead first, builds taking turns, and a queued fetch that a
 * reader comes to wait for is {@linkplain #promote promoted} and starts at once. So no reader waits behind another
 * stream's read-ahead, and prefetch uses only what readers leave.
 */
final class FetchPipeline {

    enum Priority { DEMAND, READ_AHEAD, BACKGROUND }

    /** One fetch: queued until started, then running until its work returns. */
    static final class Ticket {
        private final Object build;
        private final Runnable work;
        private Priority priority; // guarded by the scheduler
        private boolean started; // guarded by the scheduler

        private Ticket(Object build, Priority priority, Runnable work) {
            this.build = build;
            this.priority = priority;
            this.work = work;
        }
    }

    private final int total;
    private final int perBuild;
    private final int readAhead;
    private int running; // guarded by this
    private final Map<Object, Integer> runningPerBuild = new HashMap<>(); // guarded by this
    /** Per queued priority, the builds with queued fetches in the order they take turns, and their queues. */
    private final Map<Priority, LinkedHashMap<Object, ArrayDeque<Ticket>>> queued = Map.of(
            Priority.READ_AHEAD, new LinkedHashMap<>(), Priority.BACKGROUND, new LinkedHashMap<>());

    FetchPipeline(int total, int perBuild, int readAhead) {
        this.total = total;
        this.perBuild = perBuild;
        this.readAhead = readAhead;
    }

    static FetchPipeline of(FetchPolicy policy) {
        return new FetchPipeline(policy.fetches(), policy.fetchesPerBuild(), policy.readAhead());
    }

    /** A sequential-read tracker for one reader's stream, reading ahead at most as far as this pipeline does. */
    ReadAhead newReadAhead() {
        return new ReadAhead(readAhead);
    }

    /** Runs {@code work} on a virtual thread for {@code build}: at once for a reader, else when the limits allow. */
    Ticket submit(Object build, Priority priority, Runnable work) {
        Ticket ticket = new Ticket(build, priority, work);
        Runnable now;
        synchronized (this) {
            if (priority == Priority.DEMAND) {
                now = start(ticket);
            } else {
                queued.get(priority).computeIfAbsent(build, b -> new ArrayDeque<>()).add(ticket);
                now = null;
            }
        }
        run(now);
        dispatch();
        return ticket;
    }

    /** A reader waits for this queued fetch: it starts at once, if it has not yet. */
    void promote(Ticket ticket) {
        Runnable now = null;
        synchronized (this) {
            if (!ticket.started) {
                ArrayDeque<Ticket> queue = queued.get(ticket.priority).get(ticket.build);
                queue.remove(ticket);
                if (queue.isEmpty()) {
                    queued.get(ticket.priority).remove(ticket.build);
                }
                ticket.priority = Priority.DEMAND;
                now = start(ticket);
            }
        }
        run(now);
    }

    /**
     * Someone wants this fetch at {@code priority}: a queued one moves up to it (read-ahead for a chunk a trace
     * replay queued, say), a reader's starts it at once; a higher priority it has already is kept.
     */
    void raise(Ticket ticket, Priority priority) {
        if (priority == Priority.DEMAND) {
            promote(ticket);
            return;
        }
        synchronized (this) {
            if (ticket.started || ticket.priority.ordinal() <= priority.ordinal()) {
                return;
            }
            ArrayDeque<Ticket> queue = queued.get(ticket.priority).get(ticket.build);
            queue.remove(ticket);
            if (queue.isEmpty()) {
                queued.get(ticket.priority).remove(ticket.build);
            }
            ticket.priority = priority;
            queued.get(priority).computeIfAbsent(ticket.build, b -> new ArrayDeque<>()).add(ticket);
        }
        dispatch();
    }

    /** A started fetch is done: its place goes to the next queued one. */
    private void finished(Ticket ticket) {
        synchronized (this) {
            running--;
            runningPerBuild.merge(ticket.build, -1, (a, b) -> a + b == 0 ? null : a + b);
        }
        dispatch();
    }

    /** Fetches running now, and how many wait in the queues. */
    synchronized int running() {
        return running;
    }

    synchronized int queued() {
        return queued.values().stream().flatMap(m -> m.values().stream()).mapToInt(ArrayDeque::size).sum();
    }

    private void dispatch() {
        while (true) {
            Runnable now;
            synchronized (this) {
                now = next();
            }
            if (now == null) {
                return;
            }
            run(now);
        }
    }

    /** Starts the next queued fetch the limits allow (read-ahead first, builds in turn); null when none. */
    private Runnable next() {
        if (running >= total) {
            return null;
        }
        for (Priority priority : new Priority[] {Priority.READ_AHEAD, Priority.BACKGROUND}) {
            LinkedHashMap<Object, ArrayDeque<Ticket>> builds = queued.get(priority);
            for (Iterator<Map.Entry<Object, ArrayDeque<Ticket>>> it = builds.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Object, ArrayDeque<Ticket>> entry = it.next();
                if (runningPerBuild.getOrDefault(entry.getKey(), 0) >= perBuild) {
                    continue;
                }
                Ticket ticket = entry.getValue().poll();
                it.remove(); // to the back of the turn, if it has more
                if (!entry.getValue().isEmpty()) {
                    builds.put(entry.getKey(), entry.getValue());
                }
                return start(ticket);
            }
        }
        return null;
    }

    private Runnable start(Ticket ticket) {
        ticket.started = true;
        running++;
        runningPerBuild.merge(ticket.build, 1, Integer::sum);
        return () -> {
            try {
                ticket.work.run();
            } finally {
                finished(ticket);
            }
        };
    }

    private static void run(Runnable work) {
        if (work != null) {
            Thread.ofVirtual().name("fetch").start(work);
        }
    }
}
