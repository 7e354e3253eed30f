package io.tmount.daemon;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The daemon's metrics in Prometheus's text format (0.0.4), written by the client library: on the API socket as
 * {@code GET /metrics}, and as the only thing the {@code --metrics-listen} TCP port serves.
 */
final class MetricsText extends Handler.Abstract {

    private static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

    private final PrometheusRegistry registry;

    MetricsText(PrometheusRegistry registry) {
        this.registry = registry;
    }

    /** Answers one scrape. */
    void reply(Response response, Callback callback) throws IOException {
        ByteArrayOutputStream text = new ByteArrayOutputStream(16 << 10);
        WRITER.write(text, registry.scrape());
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, PrometheusTextFormatWriter.CONTENT_TYPE);
        response.write(true, ByteBuffer.wrap(text.toByteArray()), callback);
    }

    /** The TCP port: GET /metrics, and nothing else (the API never answers there). */
    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        if (!Request.getPathInContext(request).equals("/metrics")) {
            Response.writeError(request, response, callback, 404, "only /metrics is served here");
        } else if (!request.getMethod().equals("GET")) {
            Response.writeError(request, response, callback, 405, "GET only");
        } else {
            reply(response, callback);
        }
        return true;
    }
}
