package io.tmount.daemon;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import io.tmount.builder.BuildResult;
import io.tmount.export.ExportInfo;
import io.tmount.json.TmountJson;
import io.tmount.mount.CommitResult;
import io.tmount.mount.MountInfo;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountOptions;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Transport;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** A client of the daemon's API over its unix socket: what the CLI's mount, unmount and list commands use. */
public final class DaemonClient implements AutoCloseable {

    /** Mounts with the full-copy engine and commits of large overlays can take long. */
    private static final long TIMEOUT_SECONDS = 3600;
    /** Six missed heartbeats: the daemon is gone or stuck. */
    public static final Duration BUILD_SILENCE_LIMIT = Duration.ofSeconds(60);

    private final Path socket;
    private final HttpClient http;
    private final ObjectMapper json = TmountJson.newMapper();
    private final Transport transport;

    private DaemonClient(Path socket, HttpClient http) {
        this.socket = socket;
        this.http = http;
        this.transport = new Transport.TCPUnix(socket);
    }

    /** Connects lazily; fails at once, saying how to start one, when no daemon listens on the socket. */
    public static DaemonClient connect(Path socket) {
        Path dir = socket.getParent();
        if (dir != null && Files.isDirectory(dir) && !Files.isExecutable(dir)) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE, "permission denied: the daemon's socket "
                    + socket + " is for root only; run tmount as root");
        }
        if (!Files.exists(socket)) {
            throw noDaemon(socket);
        }
        // the daemon's socket is local and plain: a connector without TLS skips loading the JDK's TLS stack at start
        org.eclipse.jetty.io.ClientConnector connector = new org.eclipse.jetty.io.ClientConnector() {
            @Override
            protected org.eclipse.jetty.util.ssl.SslContextFactory.Client newSslContextFactory() {
                return null;
            }
        };
        HttpClient http = new HttpClient(new org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP(connector));
        try {
            http.start();
        } catch (Exception e) {
            throw TmountException.failed(e, "cannot start the API client");
        }
        return new DaemonClient(socket, http);
    }

    static TmountException noDaemon(Path socket) {
        return new TmountException(TmountException.Kind.UNAVAILABLE, "no tmount daemon is listening on " + socket
                + "; start one with `tmount serve` (it stays in the foreground; see README: Running the daemon)");
    }

    public Health health() {
        return call(http.newRequest(uri("/v1/health")).method(HttpMethod.GET), new TypeReference<>() { });
    }

    public MountInfo mount(String templateId, String buildId, String mountPath, MountOptions options) {
        MountRequest body = new MountRequest(templateId, buildId, mountPath, options.readOnly(), options.attach(),
                options.engine(), options.verify(), options.allowNonEmpty(), options.fsck(), options.fs());
        try {
            Request request = http.newRequest(uri("/v1/mounts")).method(HttpMethod.POST)
                    .body(new StringRequestContent("application/json", json.writeValueAsString(body)));
            return call(request, new TypeReference<>() { });
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot encode the mount request");
        }
    }

    /** Unmounts; returns where the mount's uncommitted changes were kept, when they were (see the API). */
    public Optional<String> unmount(String mountPath) {
        Map<String, String> answer = call(http.newRequest(uri("/v1/mounts?path="
                + URLEncoder.encode(mountPath, StandardCharsets.UTF_8))).method(HttpMethod.DELETE),
                new TypeReference<Map<String, String>>() { });
        return Optional.ofNullable(answer.get("keptIn"));
    }

    public CommitResult commit(String mountPath, String buildId) {
        return commit(new CommitRequest(mountPath, buildId));
    }

    public CommitResult commit(CommitRequest body) {
        try {
            Request request = http.newRequest(uri("/v1/commits")).method(HttpMethod.POST)
                    .body(new StringRequestContent("application/json", json.writeValueAsString(body)));
            return call(request, new TypeReference<>() { });
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot encode the commit request");
        }
    }

    /**
     * A commit whose progress the daemon streams ({@code POST /v1/commits?progress=lines}): {@code progress} hears
     * the bytes packed, checked and stored so far, and their total.
     */
    public CommitResult commit(CommitRequest body, io.tmount.progress.Progress progress) {
        return streamed("/v1/commits?progress=lines", body, CommitResult.class, BUILD_SILENCE_LIMIT, "commit",
                progressLines(progress));
    }

    /** Warms the daemon's caches for a build; {@code progress} hears the bytes made local so far and their total. */
    public PrefetchResult prefetch(PrefetchRequest body, io.tmount.progress.Progress progress) {
        return streamed("/v1/prefetch", body, PrefetchResult.class, BUILD_SILENCE_LIMIT, "prefetch",
                progressLines(progress));
    }

    /** Passes the {@code PROGRESS DONE TOTAL} lines of streamed work to {@code progress}. */
    private static Consumer<String> progressLines(io.tmount.progress.Progress progress) {
        return line -> {
            if (line.startsWith(LineStream.PROGRESS)) {
                String[] numbers = line.substring(LineStream.PROGRESS.length()).split(" ");
                progress.update(Long.parseLong(numbers[0]), Long.parseLong(numbers[1]));
            }
        };
    }

    /** Runs a build in the daemon, passing each log line to {@code log} as it comes. */
    public BuildResult build(String templateFile, Path directory, String buildId, Consumer<String> log) {
        return build(new BuildRequest(templateFile, directory.toAbsolutePath().toString(), buildId), log,
                BUILD_SILENCE_LIMIT);
    }

    /**
     * The same, giving up when the daemon sends nothing at all (not even its WAIT heartbeat) for {@code silenceLimit}:
     * a build may run for hours, a daemon that stopped answering should not hold the CLI that long.
     */
    public BuildResult build(BuildRequest body, Consumer<String> log, Duration silenceLimit) {
        return streamed("/v1/builds", body, BuildResult.class, silenceLimit, "build", line -> {
            if (line.startsWith(BuildEndpoint.LOG)) {
                log.accept(line.substring(BuildEndpoint.LOG.length()));
            }
        });
    }

    /**
     * Work whose answer the daemon streams ({@code StreamedWork}): passes each line before the result to
     * {@code lines} (what it does not know, WAIT included, it ignores), and returns the result; gives up when the
     * daemon sends nothing at all, not even its heartbeat, for {@code silenceLimit}.
     */
    private <T> T streamed(String path, Object body, Class<T> type, Duration silenceLimit, String what,
                           Consumer<String> lines) {
        InputStreamResponseListener listener = new InputStreamResponseListener();
        try {
            http.newRequest(uri(path)).method(HttpMethod.POST).transport(transport)
                    .idleTimeout(silenceLimit.toMillis(), TimeUnit.MILLISECONDS)
                    .body(new StringRequestContent("application/json", json.writeValueAsString(body)))
                    .send(listener);
            org.eclipse.jetty.client.Response response = listener.get(60, TimeUnit.SECONDS);
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(listener.getInputStream(),
                    StandardCharsets.UTF_8))) {
                if (response.getStatus() >= 400) {
                    ApiError error = json.readValue(reader.lines().reduce("", String::concat), ApiError.class);
                    throw new TmountException(error.kind() == null ? TmountException.Kind.FAILED : error.kind(),
                            error.error());
                }
                String line;
                while ((line = reader.readLine()) != null) {
                    if (line.startsWith(StreamedWork.OK)) {
                        return json.readValue(line.substring(StreamedWork.OK.length()), type);
                    } else if (line.startsWith(StreamedWork.ERROR)) {
                        ApiError error = json.readValue(line.substring(StreamedWork.ERROR.length()), ApiError.class);
                        throw new TmountException(error.kind(), error.error());
                    }
                    lines.accept(line);
                }
            }
            throw new TmountException(TmountException.Kind.FAILED, "the daemon ended the " + what + " without a "
                    + "result; it may have stopped: check `tmount list` and the daemon's log");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof java.net.ConnectException ? noDaemon(socket) : broken(what, e.getCause());
        } catch (IOException | java.util.concurrent.TimeoutException e) {
            for (Throwable cause = e; cause != null; cause = cause.getCause()) {
                if (cause instanceof java.util.concurrent.TimeoutException) {
                    throw new TmountException(TmountException.Kind.FAILED, "the tmount daemon sent nothing, not even "
                            + "its heartbeat, for " + silenceLimit.toSeconds() + " s during the " + what + "; it may "
                            + "have stopped or hung (the " + what + " may still finish): check its log and `tmount "
                            + "list`", e);
                }
            }
            throw broken(what, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw TmountException.failed(e, "interrupted during the %s", what);
        }
    }

    /**
     * The connection to the daemon broke mid-work (the daemon died, most likely). One line for the user; the HTTP
     * client's own account (a kilobyte of its internals) stays in the cause, for --debug.
     */
    private TmountException broken(String what, Throwable cause) {
        return new TmountException(TmountException.Kind.FAILED, "the connection to the tmount daemon at " + socket
                + " broke during the " + what + " (the daemon may have stopped; the " + what + "'s outcome is "
                + "unknown): check the daemon's log, `tmount list` and `tmount template list`", cause);
    }

    public ExportInfo export(ExportRequest body) {
        try {
            Request request = http.newRequest(uri("/v1/exports")).method(HttpMethod.POST)
                    .body(new StringRequestContent("application/json", json.writeValueAsString(body)));
            return call(request, new TypeReference<>() { });
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot encode the export request");
        }
    }

    public void unexport(String name) {
        call(http.newRequest(uri("/v1/exports?name=" + URLEncoder.encode(name, StandardCharsets.UTF_8)))
                .method(HttpMethod.DELETE), new TypeReference<Object>() { });
    }

    public List<ExportInfo> exports() {
        return call(http.newRequest(uri("/v1/exports")).method(HttpMethod.GET), new TypeReference<>() { });
    }

    public MountManager.CacheReport cache() {
        return call(http.newRequest(uri("/v1/cache")).method(HttpMethod.GET), new TypeReference<>() { });
    }

    public List<MountInfo> list() {
        return call(http.newRequest(uri("/v1/mounts")).method(HttpMethod.GET), new TypeReference<>() { });
    }

    private static String uri(String path) {
        return "http://localhost" + path;
    }

    private <T> T call(Request request, TypeReference<T> type) {
        ContentResponse response;
        try {
            response = request.transport(transport).timeout(TIMEOUT_SECONDS, TimeUnit.SECONDS).send();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof java.net.ConnectException || cause instanceof java.nio.file.NoSuchFileException) {
                throw noDaemon(socket);
            }
            if (cause instanceof java.nio.file.AccessDeniedException) {
                throw new TmountException(TmountException.Kind.UNAVAILABLE, "permission denied on " + socket
                        + "; the daemon's API is for root only");
            }
            throw new TmountException(TmountException.Kind.FAILED, "the connection to the tmount daemon on " + socket
                    + " broke during the request (" + cause + "); it may have stopped: check `tmount list`", cause);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new TmountException(TmountException.Kind.FAILED, "the tmount daemon did not answer within "
                    + TIMEOUT_SECONDS + " s; the operation may still complete: check `tmount list`", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw TmountException.failed(e, "interrupted while waiting for the tmount daemon");
        }
        try {
            if (response.getStatus() >= 400) {
                ApiError error = json.readValue(response.getContent(), ApiError.class);
                throw new TmountException(error.kind() == null ? TmountException.Kind.FAILED : error.kind(), error.error());
            }
            return json.readValue(response.getContent(), type);
        } catch (IOException e) {
            throw TmountException.failed(e, "the tmount daemon sent an unreadable answer (status %d)", response.getStatus());
        }
    }

    @Override
    public void close() {
        try {
            http.stop();
        } catch (Exception e) {
            // the client holds nothing that outlives the process
        }
    }
}
