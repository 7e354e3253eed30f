package io.tmount.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import io.tmount.image.WriteFormat;
import io.tmount.mount.CommitResult;
import io.tmount.mount.MountManager;
import io.tmount.store.BuildId;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code POST /v1/commits?progress=lines}: a commit that streams how far it got, for clients that show progress.
 * A bad request is an ordinary JSON error; once the commit has started, each line says what it is:
 * {@code PROGRESS DONE TOTAL} (bytes packed, checked and stored, of the total; at most four a second),
 * {@code WAIT} (a heartbeat while nothing moves), and last {@code OK <CommitResult>} or {@code ERROR <ApiError>}.
 */
final class CommitProgressEndpoint {

    private static final Logger log = LoggerFactory.getLogger(CommitProgressEndpoint.class);
    static final String PROGRESS = "PROGRESS ";
    private static final long EVERY_NANOS = 250_000_000L;

    private final MountManager manager;
    private final ObjectMapper json;
    private final Duration heartbeat;

    CommitProgressEndpoint(MountManager manager, ObjectMapper json, Duration heartbeat) {
        this.manager = manager;
        this.json = json;
        this.heartbeat = heartbeat;
    }

    void serve(Request request, Response response, Callback callback) {
        CommitRequest body;
        WriteFormat format;
        try {
            body = new RequestBodies(json).read(RequestBodies.text(request), CommitRequest.class, "POST /v1/commits");
            if (body.mountPath() == null) {
                throw TmountException.invalid("POST /v1/commits needs mountPath");
            }
            format = manager.writeFormat().overriding(body.compression(), body.compressionLevel(), body.frameSize(),
                    body.headerVersion());
        } catch (TmountException e) {
            respond(response, callback, e.kind().httpStatus(), new ApiError(e.getMessage(), e.kind()));
            return;
        } catch (Exception e) {
            respond(response, callback, 400, new ApiError("request body is not valid: " + e.getMessage(),
                    TmountException.Kind.INVALID_ARGUMENT));
            return;
        }
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        LineStream stream = new LineStream(response);
        Thread beats = Thread.ofVirtual().name("commit-heartbeat").start(() -> stream.beat(heartbeat));
        long[] lastSent = {0};
        String last;
        try {
            CommitResult result = manager.commit(Path.of(body.mountPath()),
                    body.buildId() == null ? null : BuildId.of(body.buildId()), null, false, format,
                    (done, total) -> {
                        long now = System.nanoTime();
                        if (now - lastSent[0] >= EVERY_NANOS || (total > 0 && done >= total)) {
                            lastSent[0] = now;
                            stream.send(PROGRESS + done + " " + total);
                        }
                    });
            last = BuildEndpoint.OK + json.writeValueAsString(result);
        } catch (TmountException e) {
            last = error(new ApiError(e.getMessage(), e.kind()));
        } catch (Exception e) {
            log.error("commit failed", e);
            last = error(new ApiError(String.valueOf(e.getMessage()), TmountException.Kind.FAILED));
        } finally {
            beats.interrupt();
        }
        stream.finish(last, callback);
    }

    private String error(ApiError error) {
        try {
            return BuildEndpoint.ERROR + json.writeValueAsString(error);
        } catch (JsonProcessingException e) {
            return BuildEndpoint.ERROR + "{\"error\":\"commit failed\",\"kind\":\"FAILED\"}";
        }
    }

    private void respond(Response response, Callback callback, int status, ApiError error) {
        try {
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(json.writeValueAsBytes(error)), callback);
        } catch (JsonProcessingException e) {
            Response.writeError(null, response, callback, 500, e.getMessage());
        }
    }
}
