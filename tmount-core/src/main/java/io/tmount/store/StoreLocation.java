package io.tmount.store;

import io.tmount.TmountException;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where the template store is, configured as e2b configures it: {@code TEMPLATE_STORAGE_URL} first, then the legacy
 * {@code STORAGE_PROVIDER} variables, else tmount's default folder under its state dir.
 */
public sealed interface StoreLocation {

    String ACCEPTED_URLS = "file:///absolute/path, s3://bucket[/prefix]?endpoint=URL&region=R&s3ForcePathStyle=true, "
            + "gs://bucket[/prefix]";
    String ACCEPTED_PROVIDERS = "Local, AWSBucket, GCPBucket";

    String url();

    ObjectStore open() throws IOException;

    /** A folder on this host. */
    record Local(Path root) implements StoreLocation {
        public Local {
            if (!root.isAbsolute()) {
                throw TmountException.invalid("local template store path '%s' must be absolute", root);
            }
            root = root.normalize();
        }

        @Override
        public String url() {
            return urlOf(root);
        }

        /** {@code file:///path}, without the trailing slash toUri() adds only for existing folders. */
        static String urlOf(Path root) {
            String uri = root.toUri().toString();
            return uri.endsWith("/") && uri.length() > "file:///".length() ? uri.substring(0, uri.length() - 1) : uri;
        }

        @Override
        public ObjectStore open() throws IOException {
            Files.createDirectories(root);
            return new LocalObjectStore(root);
        }
    }

    /** An S3-compatible bucket (AWS S3, GCS through its XML API, MinIO, S3Proxy ...). */
    record S3(S3Settings settings) implements StoreLocation {
        @Override
        public String url() {
            return settings.url();
        }

        @Override
        public ObjectStore open() throws IOException {
            return S3ObjectStore.open(settings);
        }
    }

    /** Parses a store URL, taking S3 credentials and region defaults from this process's environment. */
    static StoreLocation parse(String url) {
        return parse(url, System.getenv());
    }

    /**
     * Parses a store URL: {@code file:///path}, {@code s3://bucket[/prefix]?endpoint=…&region=…&s3ForcePathStyle=true}
     * (also {@code use_path_style}; tmount's own {@code timeout=30s}, {@code attempts=4}, {@code connections=64}), or
     * {@code gs://bucket[/prefix]} (GCS's S3-compatible XML API with HMAC keys as AWS credentials).
     */
    static StoreLocation parse(String url, Map<String, String> env) {
        URI uri;
        try {
            uri = new URI(url.trim());
        } catch (URISyntaxException e) {
            throw TmountException.invalid("template store URL '%s' is malformed (%s); accepted: %s",
                    url, e.getReason(), ACCEPTED_URLS);
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        return switch (scheme) {
            case "file" -> {
                if (uri.getPath() == null || uri.getPath().isEmpty() || (uri.getAuthority() != null && !uri.getAuthority().isEmpty())) {
                    throw TmountException.invalid("template store URL '%s' has no absolute path; accepted: %s", url, ACCEPTED_URLS);
                }
                yield new Local(Path.of(uri.getPath()));
            }
            case "s3", "gs" -> new S3(s3Settings(uri, url, scheme.equals("gs"), env));
            default -> throw TmountException.invalid("template store URL '%s' has an unknown scheme '%s'; accepted: %s",
                    url, scheme, ACCEPTED_URLS);
        };
    }

    /**
     * Reads e2b's variables: {@code TEMPLATE_STORAGE_URL}, else {@code STORAGE_PROVIDER} = {@code Local} (with
     * {@code LOCAL_TEMPLATE_STORAGE_BASE_PATH}, e2b's default {@code /tmp/templates}), {@code AWSBucket} or
     * {@code GCPBucket} (with {@code TEMPLATE_BUCKET_NAME}, {@code S3_USE_PATH_STYLE}), else {@code defaultRoot}.
     */
    private static S3Settings s3Settings(URI uri, String url, boolean gcs, Map<String, String> env) {
        String bucket = uri.getHost() != null ? uri.getHost() : uri.getAuthority();
        if (bucket == null || bucket.isBlank()) {
            throw TmountException.invalid("template store URL '%s' names no bucket; accepted: %s", url, ACCEPTED_URLS);
        }
        Map<String, String> query = new HashMap<>();
        if (uri.getRawQuery() != null) {
            for (String pair : uri.getRawQuery().split("&")) {
                int eq = pair.indexOf('=');
                String key = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "true" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                query.put(key, value);
            }
        }
        Set<String> known = Set.of("endpoint", "region", "s3ForcePathStyle", "use_path_style",
                "timeout", "attempts", "connections");
        for (String key : query.keySet()) {
            if (!known.contains(key)) {
                throw TmountException.invalid("template store URL '%s' has an unknown parameter '%s'; accepted: %s",
                        url, key, String.join(", ", new TreeSet<>(known)));
            }
        }
        URI endpoint = null;
        String endpointText = query.get("endpoint");
        if (endpointText != null) {
            try {
                endpoint = new URI(endpointText);
            } catch (URISyntaxException e) {
                throw TmountException.invalid("endpoint '%s' in template store URL '%s' is malformed", endpointText, url);
            }
            if (endpoint.getScheme() == null || !endpoint.getScheme().matches("https?") || endpoint.getHost() == null) {
                throw TmountException.invalid("endpoint '%s' in template store URL '%s' must be an http(s) URL", endpointText, url);
            }
        } else if (gcs) {
            endpoint = URI.create(S3Settings.GCS_ENDPOINT);
        }
        boolean pathStyle = gcs || Boolean.parseBoolean(query.getOrDefault("s3ForcePathStyle",
                query.getOrDefault("use_path_style", "false")));
        String region = gcs && query.get("region") == null ? "auto" : S3Settings.regionFrom(query.get("region"), env);
        Duration timeout = query.containsKey("timeout") ? S3Settings.parseDuration("timeout", query.get("timeout"))
                : S3Settings.DEFAULT_ATTEMPT_TIMEOUT;
        return new S3Settings(bucket, uri.getPath(), endpoint, region, pathStyle, S3Settings.credentialsFrom(env),
                timeout, intParam(query, "attempts", S3Settings.DEFAULT_ATTEMPTS, url),
                intParam(query, "connections", S3Settings.DEFAULT_CONNECTIONS, url));
    }

    private static int intParam(Map<String, String> query, String name, int fallback, String url) {
        String value = query.get(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw TmountException.invalid("%s '%s' in template store URL '%s' is not a whole number", name, value, url);
        }
    }

    static StoreLocation fromEnvironment(Map<String, String> env, Path defaultRoot) {
        String url = env.get("TEMPLATE_STORAGE_URL");
        if (url != null && !url.isBlank()) {
            return parse(url, env);
        }
        String provider = env.get("STORAGE_PROVIDER");
        if (provider == null || provider.isBlank()) {
            return new Local(defaultRoot);
        }
        return switch (provider.trim()) {
            case "Local" -> {
                String base = env.getOrDefault("LOCAL_TEMPLATE_STORAGE_BASE_PATH", "/tmp/templates");
                yield new Local(Path.of(base.isBlank() ? "/tmp/templates" : base));
            }
            case "AWSBucket", "GCPBucket" -> {
                String bucket = env.get("TEMPLATE_BUCKET_NAME");
                if (bucket == null || bucket.isBlank()) {
                    throw TmountException.invalid("STORAGE_PROVIDER=%s needs TEMPLATE_BUCKET_NAME", provider);
                }
                boolean gcs = provider.trim().equals("GCPBucket");
                String pathStyle = env.getOrDefault("S3_USE_PATH_STYLE", "");
                yield new S3(new S3Settings(bucket.trim(), "", gcs ? URI.create(S3Settings.GCS_ENDPOINT) : null,
                        gcs ? "auto" : S3Settings.regionFrom(null, env), gcs || Boolean.parseBoolean(pathStyle),
                        S3Settings.credentialsFrom(env), S3Settings.DEFAULT_ATTEMPT_TIMEOUT, S3Settings.DEFAULT_ATTEMPTS,
                        S3Settings.DEFAULT_CONNECTIONS));
            }
            default -> throw TmountException.invalid(
                    "STORAGE_PROVIDER '%s' is unknown; accepted: %s (or TEMPLATE_STORAGE_URL=%s)",
                    provider, ACCEPTED_PROVIDERS, ACCEPTED_URLS);
        };
    }
}
