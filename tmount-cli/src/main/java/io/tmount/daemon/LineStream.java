package io.tmount.daemon;

import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FutureCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A response as a stream of lines, written one at a time, with a WAIT line whenever it was quiet for a heartbeat
 * (so neither side's idle timeout ends long silent work); a client that went away does not stop the work.
 */
final class LineStream {

    private static final Logger log = LoggerFactory.getLogger(LineStream.class);

    /** A progress line: {@code PROGRESS DONE TOTAL}. */
    static final String PROGRESS = "PROGRESS ";
    private static final long PROGRESS_EVERY_NANOS = 250_000_000L;

    private final Response response;
    private long lastWrite = System.nanoTime();
    private boolean finished;

    LineStream(Response response) {
        this.response = response;
    }

    synchronized void send(String line) {
        if (finished) {
            return;
        }
        FutureCallback done = new FutureCallback();
        response.write(false, ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)), done);
        lastWrite = System.nanoTime();
        try {
            done.get();
        } catch (Exception e) {
            log.debug("line not delivered: {}", e.getMessage());
        }
    }

    /** Progress as {@link #PROGRESS} lines, at most four a second and always the last (done reaching the total). */
    io.tmount.progress.Progress progress() {
        long[] lastSent = {0};
        return (done, total) -> {
            long now = System.nanoTime();
            synchronized (lastSent) {
                if (now - lastSent[0] < PROGRESS_EVERY_NANOS && (total <= 0 || done < total)) {
                    return;
                }
                lastSent[0] = now;
            }
            send(PROGRESS + done + " " + total);
        };
    }

    /** Sends WAIT whenever nothing was written for a heartbeat; until interrupted. */
    void beat(Duration interval) {
        try {
            while (true) {
                Thread.sleep(interval);
                synchronized (this) {
                    if (System.nanoTime() - lastWrite >= interval.toNanos() * 9 / 10) {
                        send(StreamedWork.WAIT);
                    }
                }
            }
        } catch (InterruptedException e) {
            // the build is over
        }
    }

    synchronized void finish(String last, Callback callback) {
        finished = true;
        response.write(true, ByteBuffer.wrap((last + "\n").getBytes(StandardCharsets.UTF_8)), callback);
    }
}
