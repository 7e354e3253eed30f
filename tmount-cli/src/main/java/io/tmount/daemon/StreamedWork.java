package io.tmount.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.function.Function;

/**
 * The shape every streamed endpoint answers in (builds, commits with progress): once the work has started, text
 * lines the work sends, {@code WAIT} heartbeats while it is quiet, and last {@code OK <result as JSON>} or
 * {@code ERROR <ApiError>} (the status, 200, is sent by then). Before it starts, a refusal is an ordinary JSON error.
 */
final class StreamedWork {

    private static final Logger log = LoggerFactory.getLogger(StreamedWork.class);
    static final String WAIT = "WAIT";
    static final String OK = "OK ";
    static final String ERROR = "ERROR ";

    private StreamedWork() {
    }

    /** Runs {@code work}, which sends its lines on the stream it is given and returns the result. */
    static void run(ObjectMapper json, Response response, Callback callback, Duration heartbeat, String what,
                    Function<LineStream, Object> work) {
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        LineStream stream = new LineStream(response);
        Thread beats = Thread.ofVirtual().name(what + "-heartbeat").start(() -> stream.beat(heartbeat));
        String last;
        try {
            last = OK + json.writeValueAsString(work.apply(stream));
        } catch (TmountException e) {
            last = error(json, new ApiError(e.getMessage(), e.kind()), what);
        } catch (Exception e) {
            log.error("{} failed", what, e);
            last = error(json, new ApiError(String.valueOf(e.getMessage()), TmountException.Kind.FAILED), what);
        } finally {
            beats.interrupt();
        }
        stream.finish(last, callback);
    }

    /**
     * A request whose body could not be read, refused before its work started: a {@link TmountException} with the
     * status of its kind, anything else as 400.
     */
    static void refuse(ObjectMapper json, Response response, Callback callback, Exception badRequest) {
        if (badRequest instanceof TmountException e) {
            refuse(json, response, callback, e.kind().httpStatus(), new ApiError(e.getMessage(), e.kind()));
        } else {
            refuse(json, response, callback, 400, new ApiError("request body is not valid: "
                    + badRequest.getMessage(), TmountException.Kind.INVALID_ARGUMENT));
        }
    }

    /** A request refused before its work started: a JSON error with the status of its kind. */
    static void refuse(ObjectMapper json, Response response, Callback callback, int status, ApiError error) {
        try {
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(json.writeValueAsBytes(error)), callback);
        } catch (JsonProcessingException e) {
            Response.writeError(null, response, callback, 500, e.getMessage());
        }
    }

    private static String error(ObjectMapper json, ApiError error, String what) {
        try {
            return ERROR + json.writeValueAsString(error);
        } catch (JsonProcessingException e) {
            return ERROR + "{\"error\":\"" + what + " failed\",\"kind\":\"FAILED\"}";
        }
    }
}
