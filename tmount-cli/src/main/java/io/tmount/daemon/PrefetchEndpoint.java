package io.tmount.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import io.tmount.prefetch.Warmer;
import io.tmount.store.BuildId;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.time.Duration;

/**
 * {@code POST /v1/prefetch}: warms the daemon's caches for a build ({@link Warmer}), streaming how far it got
 * ({@link StreamedWork}): {@code PROGRESS DONE TOTAL} (bytes, at most four a second), {@code WAIT} while nothing moves,
 * and last {@code OK <PrefetchResult>} or {@code ERROR <ApiError>}.
 */
final class PrefetchEndpoint {

    private final Warmer warmer;
    private final ObjectMapper json;
    private final Duration heartbeat;

    PrefetchEndpoint(Warmer warmer, ObjectMapper json, Duration heartbeat) {
        this.warmer = warmer;
        this.json = json;
        this.heartbeat = heartbeat;
    }

    void serve(Request request, Response response, Callback callback) {
        PrefetchRequest body;
        long rate;
        BuildId build;
        try {
            body = new RequestBodies(json).read(RequestBodies.text(request), PrefetchRequest.class, "POST /v1/prefetch");
            if (body.templateId() == null || body.buildId() == null) {
                throw TmountException.invalid("POST /v1/prefetch needs templateId and buildId");
            }
            double mbps = body.rateMBps() == null ? 0 : body.rateMBps();
            if (mbps < 0 || Double.isNaN(mbps)) {
                throw TmountException.invalid("the prefetch rate (%s MB/s) must be positive, or 0 for no limit", mbps);
            }
            rate = (long) (mbps * 1_000_000);
            build = BuildId.of(body.buildId());
        } catch (Exception badRequest) {
            StreamedWork.refuse(json, response, callback, badRequest);
            return;
        }
        StreamedWork.run(json, response, callback, heartbeat, "prefetch", stream -> {
            try {
                Warmer.Warmed warmed = warmer.warm(build, body.all(), rate, stream.progress());
                return new PrefetchResult(build.value(), warmed.traceOf() == null ? null : warmed.traceOf().value(),
                        warmed.result().traceChunks(), warmed.result().bytes(),
                        warmed.result().took().toMillis() / 1000.0);
            } catch (IOException e) {
                throw TmountException.failed(e, "cannot prefetch build %s: %s", build, e.getMessage());
            }
        });
    }
}
