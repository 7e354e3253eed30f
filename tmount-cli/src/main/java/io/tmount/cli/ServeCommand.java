package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.daemon.Daemon;
import io.tmount.host.TmountHost;
import io.tmount.metrics.Metrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.tmount.mount.MountManagerConfig;
import io.tmount.mount.TrustPolicy;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "serve", description = {
        "Run the daemon that owns the mounts, in the foreground.",
        "Their NBD servers live in it; it serves the HTTP/JSON API on a unix socket only root can reach.",
        "At start it reclaims what a crashed daemon left behind; SIGTERM or SIGINT unmounts everything",
        "and exits with status 0."})
final class ServeCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Option(names = "--nbd-pool-size", paramLabel = "N",
            description = "Devices of the kernel-nbd pool (env NBD_POOL_SIZE; default 64; at most the module's nbds_max).")
    Integer nbdPoolSize;

    @Option(names = "--cache-max", paramLabel = "SIZE",
            description = "Disk budget of the shared chunk cache, e.g. 20G (env TMOUNT_CACHE_MAX; default: half the "
                    + "free space of the state dir's disk, at most 16 GiB).")
    String cacheMax;

    @Option(names = "--builds-dir", paramLabel = "DIR", defaultValue = "/var/tmp/tmount-builds",
            description = "Where template builds mount their build roots while they run (default: ${DEFAULT-VALUE}).")
    Path buildsDir;

    @Option(names = "--chunk-size", paramLabel = "SIZE",
            description = "Size of the chunks fetched from the store on first touch (default 4M; a power of two).")
    String chunkSize;

    @Option(names = "--fetches", paramLabel = "N", description = "Chunk fetches from the store in flight at once, over "
            + "all builds (env TMOUNT_FETCHES; default 16). A reader's own fetch always starts at once; read-ahead and "
            + "prefetch wait for room.")
    Integer fetches;

    @Option(names = "--fetches-per-build", paramLabel = "N", description = "Of them, at most this many for one build "
            + "object (env TMOUNT_FETCHES_PER_BUILD; default 8).")
    Integer fetchesPerBuild;

    @Option(names = "--read-ahead", paramLabel = "CHUNKS", description = "How many chunks a sequential reader fetches "
            + "ahead at most; the window doubles from 1 while the stream stays sequential, 0 turns it off (env "
            + "TMOUNT_READ_AHEAD; default 8).")
    Integer readAhead;

    @Option(names = "--trace-window", paramLabel = "DURATION", description = "How long after a mount its reads are "
            + "recorded in its build's read trace (STATE_DIR/traces), which the next mounts of the build, and of builds "
            + "layered on it, prefetch in the background; 0 turns traces off (env TMOUNT_TRACE_WINDOW; default 60s).")
    String traceWindow;

    @Option(names = "--prefetch", paramLabel = "TEMPLATE=BUILD", description = "Warm this host for a build once the "
            + "daemon is up (repeatable), in the background, behind the reads of mounts: its read trace first, then "
            + "everything it maps, at --prefetch-rate at most (as tmount prefetch --all).")
    java.util.List<String> prefetch = new java.util.ArrayList<>();

    @Option(names = "--prefetch-rate", paramLabel = "MB/s", defaultValue = "50", description = "How fast --prefetch "
            + "fetches everything a build maps, at most (default: ${DEFAULT-VALUE}; 0: no limit).")
    double prefetchRate;

    @Option(names = "--copy-local-store", description = "Copy the chunks of a store on this host into the chunk cache, "
            + "as for a remote store, instead of reading its files in place (env TMOUNT_COPY_LOCAL_STORE=true): for a "
            + "store folder on a network filesystem, whose reads cost more than the cache's.")
    boolean copyLocalStore;

    @Option(names = "--untrusted-default", description = "Treat every template as untrusted unless --trust says "
            + "otherwise: its filesystem is read by the sandboxed fuse2fs (the userspace mode), never by the host "
            + "kernel, and a mount asking for the kernel's driver is refused. See docs/security.md.")
    boolean untrustedDefault;

    @Option(names = "--trust", paramLabel = "TEMPLATE=LEVEL", description = "The trust of one template (repeatable): "
            + "trusted (the kernel's ext4 unless a mount asks for userspace), checked (the kernel's ext4 only after "
            + "e2fsck -fn passed on every mount) or untrusted (userspace only).")
    java.util.Map<String, String> trust = new java.util.LinkedHashMap<>();

    @Option(names = "--api-group", paramLabel = "GROUP", description = "Let the members of GROUP use the API besides "
            + "root (the socket becomes mode 0660 and its folder 0750, that group's). Each request's peer credentials "
            + "(SO_PEERCRED) are checked either way: anyone else gets 403. The group is as good as root (it can "
            + "export any file and run builds): see docs/security.md.")
    String apiGroup;

    @Option(names = "--log-format", paramLabel = "FORMAT", defaultValue = "text", description = "text (the "
            + "default) or json: one JSON object per line on stderr (timestamp, level, thread, logger, message, "
            + "exception), for log collectors.")
    String logFormat;

    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT", description = "Also serve the metrics (Prometheus "
            + "text format, GET /metrics, nothing else) over plain HTTP on this address, for a scraper; e.g. "
            + "127.0.0.1:9810. The API socket serves GET /metrics either way.")
    String metricsListen;

    /** The builds of --prefetch, refused before anything starts if one is not TEMPLATE=BUILD. */
    java.util.List<io.tmount.store.BuildId> prefetchBuilds() {
        if (!(prefetchRate >= 0)) {
            throw io.tmount.TmountException.invalid("--prefetch-rate takes MB/s, 0 or more, not %s", prefetchRate);
        }
        java.util.List<io.tmount.store.BuildId> builds = new java.util.ArrayList<>();
        for (String item : prefetch) {
            int eq = item.indexOf('=');
            if (eq <= 0 || eq == item.length() - 1) {
                throw io.tmount.TmountException.invalid("--prefetch takes TEMPLATE=BUILD, not '%s'", item);
            }
            TemplateId.of(item.substring(0, eq));
            builds.add(io.tmount.store.BuildId.of(item.substring(eq + 1)));
        }
        return builds;
    }

    TrustPolicy trustPolicy() {
        java.util.Map<TemplateId, TrustPolicy.Trust> templates = new java.util.LinkedHashMap<>();
        trust.forEach((template, level) -> templates.put(TemplateId.of(template), TrustPolicy.Trust.parse(level)));
        return new TrustPolicy(untrustedDefault ? TrustPolicy.Trust.UNTRUSTED : TrustPolicy.Trust.TRUSTED, templates);
    }

    @Override
    public Integer call() throws Exception {
        switch (logFormat) {
            case "text" -> { }
            case "json" -> Logging.format(true);
            default -> throw io.tmount.TmountException.invalid("--log-format takes text or json, not '%s'", logFormat);
        }
        java.util.List<io.tmount.store.BuildId> warm = prefetchBuilds();
        Settings settings = main.settings();
        int poolSize = nbdPoolSize != null ? nbdPoolSize : settings.nbdPoolSize();
        ByteSize max = cacheMax != null ? ByteSize.parse(cacheMax) : settings.cacheMax();
        ByteSize chunk = chunkSize == null ? null : ByteSize.parse(chunkSize);
        java.net.InetSocketAddress scrape = metricsListen == null ? null : hostAndPort(metricsListen);
        Metrics metrics = new Metrics(new PrometheusRegistry());
        TemplateStore store = settings.openStore(metrics);
        Daemon daemon;
        try {
            MountManagerConfig config = settings.mountManagerConfig(store, poolSize, chunk, max)
                    .withTrust(trustPolicy());
            config = config.withFetch(settings.fetchEnv().policy(fetches, fetchesPerBuild, readAhead, traceWindow,
                    copyLocalStore));
            TmountHost host = TmountHost.open(config, buildsDir, metrics);
            daemon = Daemon.start(host, settings.socket(), Version.current(),
                    settings.stateDir().toString(), Daemon.DEFAULT_BUILD_HEARTBEAT, apiGroup, scrape);
            host.warmInBackground(warm, (long) (prefetchRate * 1_000_000));
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
        UntilSignal.await(() -> {
            daemon.close();
            store.close();
        });
        return 0;
    }

    private static java.net.InetSocketAddress hostAndPort(String text) {
        int colon = text.lastIndexOf(':');
        try {
            if (colon > 0) {
                int port = Integer.parseInt(text.substring(colon + 1));
                if (port >= 0 && port <= 65535) {
                    return new java.net.InetSocketAddress(text.substring(0, colon).replaceAll("^\\[|]$", ""), port);
                }
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw io.tmount.TmountException.invalid("--metrics-listen takes HOST:PORT (e.g. 127.0.0.1:9810), not '%s'",
                text);
    }
}
