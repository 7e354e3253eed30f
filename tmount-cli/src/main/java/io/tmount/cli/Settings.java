package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.TmountException;
import io.tmount.device.Attachers;
import io.tmount.image.FetchPolicy;
import io.tmount.image.WriteFormat;
import io.tmount.mount.MountManagerConfig;
import io.tmount.store.TemplateStore;
import io.tmount.store.StoreLocation;

import java.nio.file.Path;
import java.util.Map;

/**
 * Where tmount keeps things, from command-line options first, then the environment, then defaults:
 * state dir (TMOUNT_STATE_DIR, /var/lib/tmount), runtime dir (TMOUNT_RUNTIME_DIR, /run/tmount), daemon socket
 * (TMOUNT_SOCKET, RUNTIME_DIR/tmount.sock), template store (--store, else e2b's variables, else STATE_DIR/templates),
 * kernel-nbd pool size (NBD_POOL_SIZE), chunk cache budget (TMOUNT_CACHE_MAX), whether non-UUID build ids are
 * refused (--strict-build-ids, TMOUNT_STRICT_BUILD_IDS), how new builds are written by default (e2b's
 * COMPRESS_ENABLED, COMPRESS_TYPE, COMPRESS_LEVEL, COMPRESS_FRAME_SIZE_KB), and how chunks are fetched
 * (TMOUNT_FETCHES, TMOUNT_FETCHES_PER_BUILD, TMOUNT_READ_AHEAD, TMOUNT_TRACE_WINDOW, TMOUNT_COPY_LOCAL_STORE).
 */
record Settings(Path stateDir, Path runtimeDir, Path socket, StoreLocation store, int nbdPoolSize, ByteSize cacheMax,
                boolean strictBuildIds, WriteFormat writeFormat, FetchEnv fetchEnv) {

    /** The fetch settings the environment gives (null: not given), resolved with the options over them. */
    record FetchEnv(Integer fetches, Integer perBuild, Integer readAhead, String traceWindow, boolean copyLocalStore) {

        /** The policy with {@code serve}'s options (null: not given) over these, over the defaults. */
        FetchPolicy policy(Integer fetchesOption, Integer perBuildOption, Integer readAheadOption, String windowOption,
                           boolean copyOption) {
            return fetchPolicy(FetchPolicy.DEFAULT.withCopyLocalStore(copyLocalStore || copyOption),
                    fetchesOption != null ? fetchesOption : fetches, perBuildOption != null ? perBuildOption : perBuild,
                    readAheadOption != null ? readAheadOption : readAhead,
                    windowOption != null ? windowOption : traceWindow);
        }
    }

    /** How chunks are fetched, by the environment. */
    FetchPolicy fetch() {
        return fetchEnv.policy(null, null, null, null, false);
    }

    static Settings resolve(GlobalOptions options, Map<String, String> env) {
        Path stateDir = pick(options.stateDir, env.get("TMOUNT_STATE_DIR"), MountManagerConfig.DEFAULT_STATE_DIR);
        Path runtimeDir = pick(options.runtimeDir, env.get("TMOUNT_RUNTIME_DIR"), MountManagerConfig.DEFAULT_RUNTIME_DIR);
        Path socket = pick(options.socket, env.get("TMOUNT_SOCKET"), runtimeDir.resolve("tmount.sock"));
        StoreLocation store = options.store != null
                ? StoreLocation.parse(options.store, env)
                : StoreLocation.fromEnvironment(env, stateDir.resolve("templates"));
        String cacheMax = env.get("TMOUNT_CACHE_MAX");
        boolean strict = options.strictBuildIds
                || Boolean.parseBoolean(env.getOrDefault("TMOUNT_STRICT_BUILD_IDS", "false").trim());
        return new Settings(stateDir, runtimeDir, socket, store, poolSize(env.get("NBD_POOL_SIZE")),
                cacheMax == null || cacheMax.isBlank() ? null : ByteSize.parse(cacheMax), strict,
                WriteFormat.fromEnvironment(env), fetchEnv(env));
    }

    /**
     * How chunks are fetched: TMOUNT_FETCHES and TMOUNT_FETCHES_PER_BUILD (in flight at once), TMOUNT_READ_AHEAD
     * (chunks), TMOUNT_TRACE_WINDOW (how long a mount's reads are traced), TMOUNT_COPY_LOCAL_STORE=true (copy a local
     * store's chunks into the cache).
     */
    private static FetchEnv fetchEnv(Map<String, String> env) {
        String window = env.get("TMOUNT_TRACE_WINDOW");
        FetchEnv given = new FetchEnv(number(env, "TMOUNT_FETCHES"), number(env, "TMOUNT_FETCHES_PER_BUILD"),
                number(env, "TMOUNT_READ_AHEAD"), window == null || window.isBlank() ? null : window,
                Boolean.parseBoolean(env.getOrDefault("TMOUNT_COPY_LOCAL_STORE", "false").trim()));
        given.policy(null, null, null, null, false); // refused now if it cannot be
        return given;
    }

    /** {@code policy} with those of its settings that are given (null: kept), or a clear refusal. */
    static FetchPolicy fetchPolicy(FetchPolicy policy, Integer fetches, Integer perBuild, Integer readAhead,
                                   String traceWindow) {
        try {
            int total = fetches != null ? fetches : policy.fetches();
            // a lower total caps the share unless a share is given too
            int share = perBuild != null ? perBuild : Math.min(total, policy.fetchesPerBuild());
            return policy.withFetches(total, share).withReadAhead(readAhead != null ? readAhead : policy.readAhead())
                    .withTraceWindow(traceWindow != null ? duration(traceWindow) : policy.traceWindow());
        } catch (IllegalArgumentException e) {
            throw TmountException.invalid("%s", e.getMessage());
        }
    }

    /** A duration as an operator writes one: 90s, 5m, 1h, or a bare number of seconds (0: none). */
    static java.time.Duration duration(String text) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})\\s*([smh]?)").matcher(text.strip());
        if (!m.matches()) {
            throw TmountException.invalid("'%s' is not a duration (60s, 5m, 0 for none)", text);
        }
        long n = Long.parseLong(m.group(1));
        java.time.Duration duration = switch (m.group(2)) {
            case "m" -> java.time.Duration.ofMinutes(n);
            case "h" -> java.time.Duration.ofHours(n);
            default -> java.time.Duration.ofSeconds(n);
        };
        if (duration.compareTo(java.time.Duration.ofDays(7)) > 0) {
            throw TmountException.invalid("'%s' is longer than the 7 days a duration here may be", text);
        }
        return duration;
    }

    private static Integer number(Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw TmountException.invalid("%s '%s' must be a whole number", name, value);
        }
    }

    /** The template store, strict about build ids if so configured. */
    TemplateStore openStore() throws java.io.IOException {
        return new TemplateStore(store.open(), strictBuildIds);
    }

    /** The same, counting and timing every request in {@code metrics}. */
    TemplateStore openStore(io.tmount.metrics.Metrics metrics) throws java.io.IOException {
        return new TemplateStore(new io.tmount.metrics.MeteredObjectStore(store.open(), metrics), strictBuildIds);
    }

    /** A mount manager's configuration for these settings: this host's attach backends, default retries. */
    MountManagerConfig mountManagerConfig(TemplateStore store, int poolSize) {
        return new MountManagerConfig(stateDir, runtimeDir, store, Attachers.onThisHost(poolSize),
                MountManagerConfig.DEFAULT_UNMOUNT_BUSY_RETRY).withWriteFormat(writeFormat).withFetch(fetch());
    }

    /** The same with an explicit cache: chunk size and budget (null: the defaults). */
    MountManagerConfig mountManagerConfig(TemplateStore store, int poolSize, ByteSize chunk, ByteSize cacheMax) {
        MountManagerConfig config = mountManagerConfig(store, poolSize);
        int chunkSize = chunk == null ? config.chunkSize() : (int) Math.min(Integer.MAX_VALUE, chunk.bytes());
        long max = cacheMax == null ? config.cacheMaxBytes() : cacheMax.bytes();
        try {
            return config.withCache(chunkSize, max);
        } catch (IllegalArgumentException e) {
            throw TmountException.invalid("%s", e.getMessage());
        }
    }

    private static Path pick(Path option, String env, Path fallback) {
        Path chosen = option != null ? option : (env != null && !env.isBlank() ? Path.of(env) : fallback);
        return chosen.toAbsolutePath().normalize();
    }

    private static int poolSize(String env) {
        if (env == null || env.isBlank()) {
            return MountManagerConfig.DEFAULT_NBD_POOL_SIZE;
        }
        try {
            int size = Integer.parseInt(env.trim());
            if (size >= 1) {
                return size;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw TmountException.invalid("NBD_POOL_SIZE '%s' must be a positive whole number", env);
    }
}
