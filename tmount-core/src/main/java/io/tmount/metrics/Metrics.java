package io.tmount.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.util.function.Consumer;

/**
 * tmount's Prometheus metrics, in a registry of their own (never the client library's global one): what the
 * instrumented parts count as it happens (store requests, NBD requests, mounts, builds) and what is read at scrape
 * time from the parts that already keep it (chunk caches, mounts, exports), registered by {@link #observe}. One per
 * process that serves; parts built without one get {@link #unregistered()}, which counts into nothing anyone reads.
 */
public final class Metrics {

    private static final double[] SECONDS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
            5, 10, 30, 60, 300};

    private final PrometheusRegistry registry;
    private final Counter storeRequests;
    private final Counter storeBytes;
    private final Histogram storeSeconds;
    private final Counter nbdRequests;
    private final Counter nbdBytes;
    private final Histogram mountSeconds;
    private final Histogram unmountSeconds;
    private final Counter builds;
    private final Histogram stepSeconds;

    public Metrics(PrometheusRegistry registry) {
        this.registry = registry;
        storeRequests = Counter.builder().name("tmount_store_requests_total")
                .help("Template store requests by operation and result").labelNames("op", "result").register(registry);
        storeBytes = Counter.builder().name("tmount_store_bytes_total")
                .help("Bytes read from and written to the template store").labelNames("op").register(registry);
        storeSeconds = Histogram.builder().name("tmount_store_request_duration_seconds")
                .help("Template store request latency by operation (read: a chunk fetch's ranged GET)")
                .labelNames("op").classicOnly().classicUpperBounds(SECONDS).register(registry);
        nbdRequests = Counter.builder().name("tmount_nbd_requests_total")
                .help("NBD requests served, by server kind (mount or export), command and result")
                .labelNames("server", "command", "result").register(registry);
        nbdBytes = Counter.builder().name("tmount_nbd_bytes_total")
                .help("Bytes NBD requests read, wrote, trimmed or zeroed, by server kind and command")
                .labelNames("server", "command").register(registry);
        mountSeconds = Histogram.builder().name("tmount_mount_duration_seconds")
                .help("Time to mount a template build, by result").labelNames("result").classicOnly()
                .classicUpperBounds(SECONDS).register(registry);
        unmountSeconds = Histogram.builder().name("tmount_unmount_duration_seconds")
                .help("Time to unmount, by result").labelNames("result").classicOnly().classicUpperBounds(SECONDS)
                .register(registry);
        builds = Counter.builder().name("tmount_builds_total").help("Template builds by result")
                .labelNames("result").register(registry);
        stepSeconds = Histogram.builder().name("tmount_build_step_duration_seconds")
                .help("Time of template build steps, by step type").labelNames("step").classicOnly()
                .classicUpperBounds(SECONDS).register(registry);
    }

    /** Metrics nobody scrapes: for parts used as a library, without a daemon. */
    public static Metrics unregistered() {
        return new Metrics(new PrometheusRegistry());
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    public void storeRequest(String op, boolean ok, long bytes, long nanos) {
        storeRequests.labelValues(op, ok ? "ok" : "error").inc();
        if (bytes > 0) {
            storeBytes.labelValues(op).inc(bytes);
        }
        storeSeconds.labelValues(op).observe(nanos / 1e9);
    }

    /** The counters of one NBD command on one kind of server, looked up once (the request path is hot). */
    public record NbdCounters(CounterDataPoint ok, CounterDataPoint error, CounterDataPoint bytes) {
        public void count(boolean succeeded, long length) {
            if (succeeded) {
                ok.inc();
                if (length > 0) {
                    bytes.inc(length);
                }
            } else {
                error.inc();
            }
        }
    }

    public NbdCounters nbd(String server, String command) {
        return new NbdCounters(nbdRequests.labelValues(server, command, "ok"),
                nbdRequests.labelValues(server, command, "error"), nbdBytes.labelValues(server, command));
    }

    public void mounted(boolean ok, long nanos) {
        mountSeconds.labelValues(ok ? "ok" : "error").observe(nanos / 1e9);
    }

    public void unmounted(boolean ok, long nanos) {
        unmountSeconds.labelValues(ok ? "ok" : "error").observe(nanos / 1e9);
    }

    public void built(boolean ok) {
        builds.labelValues(ok ? "ok" : "error").inc();
    }

    public void step(String step, long nanos) {
        stepSeconds.labelValues(step).observe(nanos / 1e9);
    }

    /** A gauge read at scrape time: {@code values} calls {@code sample.call(value, labelValues...)} per series. */
    public void gauge(String name, String help, String[] labels, Consumer<GaugeWithCallback.Callback> values) {
        GaugeWithCallback.builder().name(name).help(help).labelNames(labels).callback(values::accept)
                .register(registry);
    }

    /** A counter whose value a part keeps itself, read at scrape time. */
    public void counter(String name, String help, String[] labels, Consumer<CounterWithCallback.Callback> values) {
        CounterWithCallback.builder().name(name).help(help).labelNames(labels).callback(values::accept)
                .register(registry);
    }
}
