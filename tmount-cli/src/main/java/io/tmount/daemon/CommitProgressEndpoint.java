package io.tmount.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import io.tmount.image.WriteFormat;
import io.tmount.mount.MountManager;
import io.tmount.store.BuildId;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code POST /v1/commits?progress=lines}: a commit that streams how far it got ({@link StreamedWork}), for clients
 * that show progress. A bad request is an ordinary JSON error; once the commit has started, each line says what it
 * is: {@code PROGRESS DONE TOTAL} (bytes packed, checked and stored, of the total; at most four a second),
 * {@code WAIT} (a heartbeat while nothing moves), and last {@code OK <CommitResult>} or {@code ERROR <ApiError>}.
 */
final class CommitProgressEndpoint {

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
        } catch (Exception badRequest) {
            StreamedWork.refuse(json, response, callback, badRequest);
            return;
        }
        StreamedWork.run(json, response, callback, heartbeat, "commit", stream -> manager.commit(
                Path.of(body.mountPath()), body.buildId() == null ? null : BuildId.of(body.buildId()), null, false,
                format, stream.progress()));
    }
}
