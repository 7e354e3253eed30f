package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.TmountException;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Progress of long commands on stderr: a bar with rate and ETA redrawn in place on a terminal, JSON lines with
 * {@code --progress=json} (one a second, and one at the start and end), nothing otherwise. How much is done is
 * measured, not guessed by the caller: the bytes a process has read ({@code rchar} of {@code /proc/PID/io}: this
 * process for an import or a verify, the cp or tar child for a copy), against what the operation has to read.
 */
final class ProgressDisplay {

    enum Mode { TTY, JSON, NONE }

    private static final long TTY_EVERY_NANOS = 100_000_000L;
    private static final long JSON_EVERY_NANOS = 1_000_000_000L;
    private static final long SAMPLE_MILLIS = 200;

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    private final Mode mode;
    private final PrintWriter err;

    ProgressDisplay(Mode mode, PrintWriter err) {
        this.mode = mode;
        this.err = err;
    }

    /** {@code auto} (a bar when stderr is a terminal that is not dumb), {@code tty}, {@code json} or {@code none}. */
    static ProgressDisplay of(String option, PrintWriter err, Map<String, String> env) {
        Mode mode = switch (option == null ? "auto" : option) {
            case "auto" -> Terminal.isTerminal(2) && !"dumb".equals(env.get("TERM")) ? Mode.TTY : Mode.NONE;
            case "tty" -> Mode.TTY;
            case "json" -> Mode.JSON;
            case "none" -> Mode.NONE;
            default -> throw TmountException.invalid("--progress takes auto, tty, json or none, not '%s'", option);
        };
        return new ProgressDisplay(mode, err);
    }

    Mode mode() {
        return mode;
    }

    /** Whether anything is shown (else a task's total need not be worked out). */
    boolean shown() {
        return mode != Mode.NONE;
    }

    /** A task of {@code total} bytes (0 or less: unknown; shown as bytes and time). */
    Task start(String name, long total) {
        return new Task(name, total);
    }

    /**
     * Runs work whose progress (bytes done of a total it learns) is shown as task {@code name}; a failure is drawn
     * as one. Nothing is shown in mode none, and the work then hears of no progress.
     */
    <T> T track(String name, java.util.function.Function<io.tmount.progress.Progress, T> work) {
        if (mode == Mode.NONE) {
            return work.apply(io.tmount.progress.Progress.NONE);
        }
        try (Task task = start(name, 0)) {
            try {
                return work.apply(task::update);
            } catch (RuntimeException e) {
                task.fail();
                throw e;
            }
        }
    }

    /** One task's progress; closing it draws its last state ({@link #fail} first for a failure). */
    final class Task implements AutoCloseable {
        private final String name;
        private long total;
        private final long started = System.nanoTime();
        private long done;
        private long lastDrawn;
        private boolean failed;
        private boolean closed;
        private Thread follower;

        private Task(String name, long total) {
            this.name = name;
            this.total = total;
            if (mode == Mode.JSON) {
                json("started");
            }
        }

        /** Follows the bytes process {@code pid} reads from now on, until closed. */
        synchronized Task followReads(long pid) {
            long baseline = readBytes(pid);
            follower = Thread.ofVirtual().name("progress").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    long now = readBytes(pid);
                    if (now >= 0) {
                        update(now - Math.max(0, baseline));
                    }
                    try {
                        Thread.sleep(SAMPLE_MILLIS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            return this;
        }

        /** Progress whose total the work itself learns as it goes (a commit in the daemon). */
        synchronized void update(long bytes, long newTotal) {
            if (newTotal > 0) {
                total = newTotal;
            }
            update(bytes);
        }

        synchronized void update(long bytes) {
            if (closed || mode == Mode.NONE) {
                return;
            }
            done = Math.max(done, total > 0 ? Math.min(bytes, total) : bytes);
            long now = System.nanoTime();
            if (now - lastDrawn >= (mode == Mode.TTY ? TTY_EVERY_NANOS : JSON_EVERY_NANOS)) {
                lastDrawn = now;
                draw("running");
            }
        }

        void fail() {
            failed = true;
        }

        @Override
        public void close() {
            Thread running;
            synchronized (this) {
                if (closed) {
                    return;
                }
                running = follower;
            }
            if (running != null) {
                running.interrupt();
                try {
                    running.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            synchronized (this) {
                if (!failed && total > 0) {
                    done = total;
                }
                if (mode == Mode.TTY) {
                    draw(failed ? "failed" : "done");
                    err.println();
                    err.flush();
                } else if (mode == Mode.JSON) {
                    json(failed ? "failed" : "done");
                }
                closed = true;
            }
        }

        private void draw(String state) {
            if (mode == Mode.JSON) {
                json(state);
                return;
            }
            double seconds = Math.max(1e-3, (System.nanoTime() - started) / 1e9);
            double rate = done / seconds;
            StringBuilder line = new StringBuilder("\r\033[K").append(name).append(' ');
            if (total > 0) {
                int width = 24;
                int filled = (int) (width * done / total);
                line.append('[').append("#".repeat(filled)).append("-".repeat(width - filled)).append("] ")
                        .append(String.format(Locale.ROOT, "%3d%% ", 100 * done / total));
            }
            line.append(ByteSize.format(done));
            if (total > 0) {
                line.append(" of ").append(ByteSize.format(total));
            }
            line.append("  ").append(ByteSize.format((long) rate)).append("/s");
            if (state.equals("running") && total > 0 && rate > 0) {
                line.append("  ETA ").append(clock((long) ((total - done) / rate)));
            } else {
                line.append("  ").append(clock((long) seconds)).append(state.equals("failed") ? " FAILED" : "");
            }
            err.print(line);
            err.flush();
        }

        private void json(String state) {
            double seconds = (System.nanoTime() - started) / 1e9;
            double rate = seconds > 0 ? done / seconds : 0;
            long eta = total > 0 && rate > 0 && state.equals("running") ? (long) ((total - done) / rate) : -1;
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("progress", name);
            event.put("state", state);
            event.put("done", done);
            event.put("total", Math.max(0, total));
            event.put("bytesPerSecond", (long) rate);
            event.put("etaSeconds", eta);
            event.put("elapsedSeconds", Math.round(seconds * 10) / 10.0);
            try {
                err.println(JSON.writeValueAsString(event));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
            err.flush();
        }
    }

    private static String clock(long seconds) {
        return seconds >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", seconds / 3600, seconds / 60 % 60,
                seconds % 60) : String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
    }

    /** {@code rchar} of a process: every byte its read calls returned; -1 once it is gone. */
    static long readBytes(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/io"))) {
                if (line.startsWith("rchar:")) {
                    return Long.parseLong(line.substring(6).strip());
                }
            }
        } catch (IOException | NumberFormatException e) {
            // gone, or not readable
        }
        return -1;
    }
}
