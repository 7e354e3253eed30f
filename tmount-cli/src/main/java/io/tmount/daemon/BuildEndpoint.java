package io.tmount.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import io.tmount.builder.BuildOptions;
import io.tmount.builder.BuildRunner;
import io.tmount.builder.TemplateFile;
import io.tmount.builder.TemplateFileParser;
import io.tmount.image.WriteFormat;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.nio.file.Path;
import java.util.List;
import java.time.Duration;

/**
 * {@code POST /v1/builds}: runs a template build and streams its log as text lines while it runs ({@link
 * StreamedWork}). A bad request is an ordinary JSON error; once the build has started, every line says what it is:
 * {@code LOG <text>} (one per line of the log, so a step's multi-line text cannot pass for anything else),
 * {@code WAIT} (sent when the log has been quiet for a heartbeat, so neither side's idle timeout ends a long silent
 * step), and last {@code OK <BuildResult>} or {@code ERROR <ApiError>} (the status is already sent by then).
 */
final class BuildEndpoint {

    static final String LOG = "LOG ";
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
        BuildOptions options;
        try {
            BuildRequest body = new RequestBodies(json).read(RequestBodies.text(request),
                    BuildRequest.class, "POST /v1/builds");
            if (body.templateFile() == null || body.directory() == null || !Path.of(body.directory()).isAbsolute()) {
                throw TmountException.invalid("POST /v1/builds needs {templateFile, directory (absolute), buildId}");
            }
            file = parser.parse(body.templateFile(), Path.of(body.directory()));
            buildId = body.buildId() == null ? null : BuildId.of(body.buildId());
            WriteFormat format = runner.writeFormat().overriding(body.compression(), body.compressionLevel(),
                    body.frameSize(), body.headerVersion());
            options = new BuildOptions(format, Boolean.TRUE.equals(body.noCache()),
                    body.cacheFrom() == null ? List.of() : body.cacheFrom().stream().map(TemplateId::of).toList(),
                    Boolean.TRUE.equals(body.squash()));
        } catch (Exception badRequest) {
            StreamedWork.refuse(json, response, callback, badRequest);
            return;
        }
        StreamedWork.run(json, response, callback, heartbeat, "build", stream -> runner.run(file, buildId, options,
                text -> text.lines().forEach(line -> stream.send(LOG + line))));
    }
}
