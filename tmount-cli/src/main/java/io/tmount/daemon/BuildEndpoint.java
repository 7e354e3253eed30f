package io.tmount.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import io.tmount.builder.BuildResult;
import io.tmount.builder.BuildRunner;
import io.tmount.builder.TemplateFile;
import io.tmount.builder.TemplateFileParser;
import io.tmount.image.WriteFormat;
import io.tmount.store.BuildId;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FutureCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code POST /v1/builds}: runs a template build and streams its log as text lines while it runs. A bad request is
 * an ordinary JSON error; once the build has started, every line says what it is: {@code LOG <text>} (one per line
 * of the log, so a step's multi-line text cannot pass for anything else), {@code WAIT} (sent when the log has been
 * quiet for a heartbeat, so neither side's idle timeout ends a long silent step), and last {@code OK <BuildResult>}
 * or {@code ERROR <ApiError>} (the status is already sent by then).
 */
final class BuildEndpoint {

    private static final Logger log = LoggerFactory.getLogger(BuildEndpoint.class);
    static final String LOG = "LOG ";
    static final String WAIT = "WAIT";
    static final String OK = "OK ";
    static final String ERROR = "ERROR ";
    static final Duration DEFAULT_HEARTBEAT = Duration.ofSeconds(10);

    private final BuildRunner runner;
    private final ObjectMapper json;
    private final Duration heartbeat;
    private final TemplateFileParser parser = new TemplateFileParser();

    BuildEndpoint(BuildRunner runner, ObjectMapper json, Duration heartbeat) {
        this.runner = runner;
        this.json = json;
        this.heartbeat = heartbeat;
    }

    void serve(Request request, Response response, Callback callback) {
        TemplateFile file;
        BuildId buildId;
        WriteFormat format;
        try {
            BuildRequest body = new RequestBodies(json).read(RequestBodies.text(request),
                    BuildRequest.class, "POST /v1/builds");
            if (body.templateFile() == null || body.directory() == null || !Path.of(body.directory()).isAbsolute()) {
                throw TmountException.invalid("POST /v1/builds needs {templateFile, directory (absolute), buildId}");
            }
            file = parser.parse(body.templateFile(), Path.of(body.directory()));
            buildId = body.buildId() == null ? null : BuildId.of(body.buildId());
            format = runner.writeFormat().overriding(body.compression(), body.compressionLevel(), body.frameSize(),
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
        Thread beats = Thread.ofVirtual().name("build-heartbeat").start(() -> stream.beat(heartbeat));
        String last;
        try {
            BuildResult result = runner.run(file, buildId, format,
                    text -> text.lines().forEach(line -> stream.send(LOG + line)));
            last = OK + json.writeValueAsString(result);
        } catch (TmountException e) {
            last = error(new ApiError(e.getMessage(), e.kind()));
        } catch (Exception e) {
            log.error("build failed", e);
            last = error(new ApiError(String.valueOf(e.getMessage()), TmountException.Kind.FAILED));
        } finally {
            beats.interrupt();
        }
        stream.finish(last, callback);
    }

    private String error(ApiError error) {
        try {
            return ERROR + json.writeValueAsString(error);
        } catch (JsonProcessingException e) {
            return ERROR + "{\"error\":\"build failed\",\"kind\":\"FAILED\"}";
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
