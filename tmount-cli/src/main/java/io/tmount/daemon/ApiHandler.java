package io.tmount.daemon;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import io.tmount.export.Exports;
import io.tmount.host.TmountHost;
import io.tmount.export.ExportInfo;
import io.tmount.export.ExportOptions;
import io.tmount.image.WriteFormat;
import io.tmount.mount.CommitResult;
import io.tmount.mount.MountInfo;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountOptions;
import io.tmount.store.BuildId;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The daemon's HTTP/JSON API, a thin layer over {@link MountManager}:
 * {@code GET /v1/health}, {@code GET /v1/mounts}, {@code POST /v1/mounts}, {@code DELETE /v1/mounts?path=P},
 * {@code POST /v1/commits}, {@code GET /v1/cache}, and {@code POST /v1/builds} (a streamed build log).
 * Errors are {@link ApiError} bodies with the status of their kind.
 */
final class ApiHandler extends Handler.Abstract.NonBlocking {

    private static final Logger log = LoggerFactory.getLogger(ApiHandler.class);

    private final MountManager manager;
    private final Exports exports;
    private final ObjectMapper json;
    private final String version;
    private final String stateDir;

    private final BuildEndpoint builds;
    private final RequestBodies bodies;
    private final ApiPeers peers;
    private final MetricsText metrics;
    private final CommitProgressEndpoint commits;
    private final PrefetchEndpoint prefetch;

    ApiHandler(TmountHost host, ObjectMapper json, String version, String stateDir, Duration buildHeartbeat,
               ApiPeers peers) {
        this.peers = peers;
        this.manager = host.mounts();
        this.exports = host.exports();
        this.json = json;
        this.version = version;
        this.stateDir = stateDir;
        this.builds = new BuildEndpoint(host.builds(), json, buildHeartbeat);
        this.bodies = new RequestBodies(json);
        this.metrics = new MetricsText(host.metrics().registry());
        this.commits = new CommitProgressEndpoint(host.mounts(), json, buildHeartbeat);
        this.prefetch = new PrefetchEndpoint(host.warmer(), json, buildHeartbeat);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        // Mounting takes seconds and blocks: run it off Jetty's selector, on a thread of its own. A platform thread:
        // requests (builds above all) touch files inside tmount's own mounts, and a virtual thread blocked in such a
        // syscall holds its carrier, and with it the I/O poller the NBD server behind that mount needs to answer:
        // a deadlock (found by DaemonStressTest).
        Thread.ofPlatform().daemon().name("api").start(() -> serve(request, response, callback));
        return true;
    }

    private void serve(Request request, Response response, Callback callback) {
        try {
            peers.check(request);
        } catch (TmountException refused) {
            log.warn("API request {} {} refused: {}", request.getMethod(), request.getHttpURI().getPath(),
                    refused.getMessage());
            reply(request, response, callback, refused.kind().httpStatus(),
                    new ApiError(refused.getMessage(), refused.kind()));
            return;
        }
        if (Request.getPathInContext(request).equals("/metrics") && request.getMethod().equals("GET")) {
            try {
                metrics.reply(response, callback);
            } catch (IOException | RuntimeException e) {
                log.error("metrics scrape failed", e);
                Response.writeError(request, response, callback, 500, String.valueOf(e.getMessage()));
            }
            return;
        }
        if (Request.getPathInContext(request).equals("/v1/commits") && request.getMethod().equals("POST")
                && "lines".equals(Request.extractQueryParameters(request).getValue("progress"))) {
            commits.serve(request, response, callback);
            return;
        }
        if (Request.getPathInContext(request).equals("/v1/prefetch") && request.getMethod().equals("POST")) {
            prefetch.serve(request, response, callback);
            return;
        }
        if (Request.getPathInContext(request).equals("/v1/builds") && request.getMethod().equals("POST")) {
            builds.serve(request, response, callback);
            return;
        }
        int status = 200;
        Object body;
        try {
            body = route(request);
            if (body instanceof Created created) {
                status = 201;
                body = created.value();
            }
        } catch (TmountException e) {
            status = e.kind().httpStatus();
            body = new ApiError(e.getMessage(), e.kind());
        } catch (JsonProcessingException e) {
            status = 400;
            body = new ApiError("request body is not valid JSON: " + e.getOriginalMessage(), TmountException.Kind.INVALID_ARGUMENT);
        } catch (Exception e) {
            log.error("API request {} {} failed", request.getMethod(), request.getHttpURI().getPath(), e);
            status = 500;
            body = new ApiError(String.valueOf(e.getMessage()), TmountException.Kind.FAILED);
        }
        reply(request, response, callback, status, body);
    }

    private void reply(Request request, Response response, Callback callback, int status, Object body) {
        try {
            byte[] bytes = json.writeValueAsBytes(body);
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(bytes), callback);
        } catch (JsonProcessingException e) {
            Response.writeError(request, response, callback, 500, e.getMessage());
        }
    }

    private record Created(Object value) {
    }

    private Object route(Request request) throws Exception {
        String path = Request.getPathInContext(request);
        String method = request.getMethod();
        return switch (path) {
            case "/v1/health" -> {
                requireMethod(method, "GET", path);
                List<MountInfo> mounts = manager.listMounts();
                int problems = (int) mounts.stream().filter(m -> m.problem() != null).count();
                yield new Health(problems == 0 ? "ok" : "degraded", version, manager.store().url(), stateDir,
                        mounts.size(), exports.list().size(), problems);
            }
            case "/v1/mounts" -> switch (method) {
                case "GET" -> manager.listMounts();
                case "POST" -> new Created(mount(RequestBodies.text(request)));
                case "DELETE" -> {
                    Fields query = Request.extractQueryParameters(request);
                    String mountPath = query.getValue("path");
                    if (mountPath == null) {
                        throw TmountException.invalid("DELETE /v1/mounts needs ?path=MOUNT_PATH");
                    }
                    Optional<Path> kept = manager.unmountTemplate(mountPath);
                    yield kept.isEmpty() ? Map.of("unmounted", mountPath)
                            : Map.of("unmounted", mountPath, "keptIn", kept.get().toString());
                }
                default -> throw new TmountException(TmountException.Kind.INVALID_ARGUMENT,
                        "method " + method + " is not allowed on " + path + " (GET, POST, DELETE)");
            };
            case "/v1/commits" -> {
                requireMethod(method, "POST", path);
                yield new Created(commit(RequestBodies.text(request)));
            }
            case "/v1/exports" -> switch (method) {
                case "GET" -> exports.list();
                case "POST" -> new Created(export(RequestBodies.text(request)));
                case "DELETE" -> {
                    String name = Request.extractQueryParameters(request).getValue("name");
                    if (name == null) {
                        throw TmountException.invalid("DELETE /v1/exports needs ?name=EXPORT_NAME");
                    }
                    exports.unexport(name);
                    yield Map.of("stopped", name);
                }
                default -> throw new TmountException(TmountException.Kind.INVALID_ARGUMENT,
                        "method " + method + " is not allowed on " + path + " (GET, POST, DELETE)");
            };
            case "/v1/cache" -> {
                requireMethod(method, "GET", path);
                yield manager.cacheReport();
            }
            default -> throw TmountException.notFound(
                    "no API endpoint %s (endpoints: /v1/health, /v1/mounts, /v1/commits, /v1/exports, /v1/cache, "
                            + "/v1/builds, /v1/prefetch)", path);
        };
    }

    private MountInfo mount(String body) {
        MountRequest req = bodies.read(body, MountRequest.class, "POST /v1/mounts");
        MountOptions options = MountOptions.defaults().withReadOnly(req.readOnly()).withAttach(req.attach())
                .withEngine(req.engine()).withVerify(req.verify()).withAllowNonEmpty(req.allowNonEmpty())
                .withFsck(req.fsck()).withFs(req.fs());
        return manager.mountTemplate(req.templateId(), req.buildId(), req.mountPath(), options);
    }

    private ExportInfo export(String body) {
        ExportRequest req = bodies.read(body, ExportRequest.class, "POST /v1/exports");
        return exports.export(ExportRequests.source(req.templateId(), req.buildId(), req.image()),
                new ExportOptions(ExportRequests.listen(req.socket(), req.tcp(), req.allowRemote()), req.readOnly(),
                        req.name(), req.maxConnections(), ExportRequests.tls(req.tls(), req.tlsCert(), req.tlsKey(),
                        req.tlsCa(), req.tlsVerifyPeer())));
    }

    private CommitResult commit(String body) {
        CommitRequest req = bodies.read(body, CommitRequest.class, "POST /v1/commits");
        if (req.mountPath() == null) {
            throw TmountException.invalid("POST /v1/commits needs mountPath");
        }
        WriteFormat format = manager.writeFormat().overriding(req.compression(), req.compressionLevel(),
                req.frameSize(), req.headerVersion());
        return manager.commit(Path.of(req.mountPath()), req.buildId() == null ? null : BuildId.of(req.buildId()),
                null, false, format);
    }

    private static void requireMethod(String method, String allowed, String path) {
        if (!method.equals(allowed)) {
            throw TmountException.invalid("method %s is not allowed on %s (%s)", method, path, allowed);
        }
    }
}
