package io.tmount.store;

import io.tmount.TmountException;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Where the template store is, configured as e2b configures it: {@code TEMPLATE_STORAGE_URL} first, then the legacy
 * {@code STORAGE_PROVIDER} variables, else tmount's default folder under its state dir.
 */
public sealed interface StoreLocation {

    String ACCEPTED_URLS = "file:///absolute/path";
    String ACCEPTED_PROVIDERS = "Local";

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

    /** Parses a store URL: {@code file:///path}. */
    static StoreLocation parse(String url) {
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
            case "s3", "gs" -> throw TmountException.invalid(
                    "template store URL '%s': the %s provider is not available in this version of tmount; accepted: %s",
                    url, scheme, ACCEPTED_URLS);
            default -> throw TmountException.invalid("template store URL '%s' has an unknown scheme '%s'; accepted: %s",
                    url, scheme, ACCEPTED_URLS);
        };
    }

    /**
     * Reads e2b's variables: {@code TEMPLATE_STORAGE_URL}, else {@code STORAGE_PROVIDER=Local} with
     * {@code LOCAL_TEMPLATE_STORAGE_BASE_PATH} (e2b's default {@code /tmp/templates}), else {@code defaultRoot}.
     */
    static StoreLocation fromEnvironment(Map<String, String> env, Path defaultRoot) {
        String url = env.get("TEMPLATE_STORAGE_URL");
        if (url != null && !url.isBlank()) {
            return parse(url);
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
            case "AWSBucket", "GCPBucket" -> throw TmountException.invalid(
                    "STORAGE_PROVIDER=%s is not available in this version of tmount; accepted: %s "
                            + "(or TEMPLATE_STORAGE_URL=%s)", provider, ACCEPTED_PROVIDERS, ACCEPTED_URLS);
            default -> throw TmountException.invalid(
                    "STORAGE_PROVIDER '%s' is unknown; accepted: %s (or TEMPLATE_STORAGE_URL=%s)",
                    provider, ACCEPTED_PROVIDERS, ACCEPTED_URLS);
        };
    }
}
