package io.tmount.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;
import io.tmount.compress.Compression;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds in a template store, in e2b's layout: {@code {buildId}/rootfs.ext4.header} (optional for a base build), the
 * data object ({@code rootfs.ext4}, or {@code rootfs.ext4.zstd} / {@code .lz4} when compressed; absent for a layer
 * with no blocks of its own) and {@code {buildId}/metadata.json}. A build exists when it has a header or, for e2b's
 * oldest builds, a headerless {@code rootfs.ext4}.
 */
public final class TemplateStore implements AutoCloseable {

    public static final String ROOTFS = "rootfs.ext4";
    public static final String HEADER = "rootfs.ext4.header";
    public static final String METADATA = "metadata.json";
    /** e2b's local-filesystem backend keeps the uncompressed size of a compressed object in this sidecar. */
    public static final String SIZE_SIDECAR = ".uncompressed-size";
    /** tmount's per-block SHA-256 list of a build's (uncompressed) data: an object e2b never reads. */
    public static final String DIGESTS = "rootfs.ext4.sha256";

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(TemplateStore.class);

    private final ObjectStore objects;
    private final boolean strictIds;
    private final MetadataJson metadataJson;
    private final Set<BuildId> publishing = ConcurrentHashMap.newKeySet();

    public TemplateStore(ObjectStore objects) {
        this(objects, false);
    }

    /**
     * {@code strictIds}: refuse to store builds whose ids are not UUIDs, which e2b cannot find (its headers name
     * builds by UUID and it looks for a build's objects under that UUID); otherwise they are stored with a warning.
     */
    public TemplateStore(ObjectStore objects, boolean strictIds) {
        this.objects = objects;
        this.strictIds = strictIds;
        this.metadataJson = new MetadataJson(new ObjectMapper());
    }

    /**
     * Checks a new build's id: a non-UUID id is refused in a strict store and warned about otherwise. Returns the
     * warning, for callers that tell a user (empty for a UUID).
     */
    public Optional<String> checkNewBuildId(BuildId build) {
        if (build.value().equals(CACHE_FOLDER)) {
            throw TmountException.invalid("build id '%s' is the build cache's folder; choose another", build);
        }
        if (build.isUuid()) {
            return Optional.empty();
        }
        String why = "build id '" + build + "' is not a lower-case UUID: e2b cannot read this build (tmount can)";
        if (strictIds) {
            throw TmountException.invalid("%s, and store %s is strict (TMOUNT_STRICT_BUILD_IDS); use a UUID", why, url());
        }
        log.warn("{}", why);
        return Optional.of(why);
    }

    public String url() {
        return objects.url();
    }

    /** The folder of the build cache (see io.tmount.buildcache): never a build. */
    public static final String CACHE_FOLDER = "tmount-build-cache";

    public ObjectStore objects() {
        return objects;
    }

    public static String rootfsKey(BuildId build) {
        return build.value() + "/" + ROOTFS;
    }

    /** The data object: {@code rootfs.ext4} plus the compression's suffix, as e2b names it. */
    public static String dataKey(BuildId build, Compression compression) {
        return rootfsKey(build) + compression.suffix();
    }

    public static String digestsKey(BuildId build) {
        return build.value() + "/" + DIGESTS;
    }

    /** tmount's per-block SHA-256 list of the build's data, if the build has one (e2b's builds have none). */
    public Optional<byte[]> digests(BuildId build) {
        try {
            return Optional.of(objects.get(digestsKey(build)));
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read %s in store %s", digestsKey(build), url());
        }
    }

    public static String headerKey(BuildId build) {
        return build.value() + "/" + HEADER;
    }

    public static String metadataKey(BuildId build) {
        return build.value() + "/" + METADATA;
    }

    /** Whether the build is there: a header, or (e2b's oldest builds, with no header) a rootfs. */
    public boolean exists(BuildId build) {
        try {
            return objects.exists(headerKey(build)) || objects.exists(rootfsKey(build));
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot reach template store %s", url());
        }
    }

    /** The object's size and version, or empty when it is absent. */
    public Optional<ObjectInfo> info(String key) {
        try {
            return Optional.of(objects.info(key));
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read the size of %s in store %s", key, url());
        }
    }

    /** The uncompressed size e2b's local backend records beside a compressed object, if there is one. */
    public Optional<Long> uncompressedSizeSidecar(String dataKey) {
        try {
            String text = new String(objects.get(dataKey + SIZE_SIDECAR), java.nio.charset.StandardCharsets.US_ASCII);
            return Optional.of(Long.parseLong(text.trim()));
        } catch (NoSuchObjectException | NumberFormatException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read %s in store %s", dataKey + SIZE_SIDECAR, url());
        }
    }

    /** The build's metadata; empty when the build has no metadata.json. */
    public Optional<BuildMetadata> metadata(BuildId build) {
        String key = metadataKey(build);
        try {
            if (!objects.exists(key)) {
                return Optional.empty();
            }
            return Optional.of(metadataJson.read(objects.get(key), build));
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read %s in store %s", key, url());
        }
    }

    /**
     * Checks that the build exists and belongs to the template. A build whose metadata does not record a template
     * (e2b's own form) is accepted under any template id.
     */
    public Optional<BuildMetadata> resolve(TemplateId template, BuildId build) {
        if (!exists(build)) {
            throw TmountException.notFound("build '%s' of template '%s' not found in template store %s (no %s or %s)",
                    build, template, url(), headerKey(build), rootfsKey(build));
        }
        Optional<BuildMetadata> metadata = metadata(build);
        metadata.map(BuildMetadata::templateId).ifPresent(recorded -> {
            if (!recorded.equals(template)) {
                throw TmountException.conflict("build '%s' belongs to template '%s', not to template '%s'",
                        build, recorded, template);
            }
        });
        return metadata;
    }

    /**
     * The raw bytes of the build's header, or empty for a headerless build. A header larger than any e2b writes is
     * refused before it is fetched.
     */
    public Optional<byte[]> headerBytes(BuildId build, long maxBytes) {
        String key = headerKey(build);
        try {
            Optional<ObjectInfo> info = info(key);
            if (info.isEmpty()) {
                return Optional.empty();
            }
            if (info.get().size() > maxBytes) {
                throw TmountException.invalid("%s in store %s has %d bytes, more than any header tmount reads (%d)",
                        key, url(), info.get().size(), maxBytes);
            }
            return Optional.of(objects.get(key));
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read %s in store %s", key, url());
        }
    }

    /** A build's data object as it is to be stored: the file, its compression and its uncompressed size. */
    /** {@code digests}: tmount's per-block SHA-256 list of the uncompressed data (null: none is stored). */
    public record StoredData(Path file, Compression compression, long uncompressedBytes, byte[] digests) {

        public StoredData(Path file, Compression compression, long uncompressedBytes) {
            this(file, compression, uncompressedBytes, null);
        }
    }

    /**
     * Stores a new build with a header: the header first (it is what makes the build exist), then its data object
     * when it has one (a layer with no blocks of its own has none, as in e2b), with e2b's size sidecar beside a
     * compressed object in a local store, then its metadata (last, so a build is listed only once it is whole).
     * Every object is created only if absent, so two writers of one id (in this process or not) cannot overwrite
     * each other. On failure what was written goes again, the data object first: a rootfs left without its header
     * would read as a whole headerless build made of packed blocks.
     */
    public void publishBuild(BuildMetadata metadata, byte[] header, StoredData data) {
        BuildId build = metadata.buildId();
        publishing(build, written -> {
            create(headerKey(build), header, written);
            if (data != null) {
                String key = dataKey(build, data.compression());
                createFrom(key, data.file(), written);
                if (data.compression() != Compression.NONE && objects.localRoot().isPresent()) {
                    create(key + SIZE_SIDECAR, Long.toString(data.uncompressedBytes())
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII), written);
                }
                if (data.digests() != null) {
                    create(digestsKey(build), data.digests(), written);
                }
            }
            create(metadataKey(build), metadataJson.write(metadata), written);
        });
    }

    /** A layered build whose own blocks are stored uncompressed in {@code packedBlocks}. */
    public void publishLayer(BuildMetadata metadata, Path packedBlocks, byte[] header) throws IOException {
        publishBuild(metadata, header, new StoredData(packedBlocks, Compression.NONE, java.nio.file.Files.size(packedBlocks)));
    }

    /** Stores a new headerless build: the image first, then its metadata; as {@link #publishLayer} otherwise. */
    public void publish(BuildMetadata metadata, Path rootfs) {
        BuildId build = metadata.buildId();
        publishing(build, written -> {
            createFrom(rootfsKey(build), rootfs, written);
            create(metadataKey(build), metadataJson.write(metadata), written);
        });
    }

    private interface Publication {
        void write(List<String> written) throws IOException;
    }

    private void publishing(BuildId build, Publication publication) {
        checkNewBuildId(build);
        if (!publishing.add(build)) {
            throw TmountException.conflict("build '%s' is being stored in template store %s right now", build, url());
        }
        List<String> written = new ArrayList<>();
        try {
            if (exists(build) || anyDataObject(build)) {
                throw TmountException.conflict("build '%s' already exists in template store %s", build, url());
            }
            publication.write(written);
        } catch (IOException e) {
            removeWritten(build, written, e);
            if (e instanceof ObjectExistsException) {
                throw TmountException.conflict("build '%s' already exists in template store %s, or another process "
                        + "is storing it (%s)", build, url(), e.getMessage());
            }
            throw TmountException.failed(e, "cannot store build '%s' in %s", build, url());
        } finally {
            publishing.remove(build);
        }
    }

    private void create(String key, byte[] content, List<String> written) throws IOException {
        objects.create(key, content);
        written.add(key);
    }

    private void createFrom(String key, Path source, List<String> written) throws IOException {
        objects.create(key, source);
        written.add(key);
    }

    /**
     * Removes a build whose publication a crash cut short: one without its metadata, which is written last (a build
     * with metadata is whole and stays). Data objects go first, then the header, then any temp files. Returns whether
     * anything was removed; idempotent.
     */
    public boolean removeIncomplete(BuildId build) {
        try {
            if (objects.exists(metadataKey(build))) {
                return false;
            }
            boolean removed = false;
            for (Compression c : Compression.values()) {
                removed |= deleteIfExists(dataKey(build, c));
                removed |= deleteIfExists(dataKey(build, c) + SIZE_SIDECAR);
            }
            removed |= deleteIfExists(digestsKey(build));
            removed |= deleteIfExists(headerKey(build));
            objects.removeUnfinishedWrites(build.value());
            if (removed) {
                log.warn("removed build {} from {}: its publication was cut short", build, url());
            }
            return removed;
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot remove the unfinished build %s from %s", build, url());
        }
    }

    /**
     * Deletes a whole build: its metadata first, so that from then on it reads as a publication cut short (which
     * {@link #removeIncomplete} finishes removing, also after a crash midway), then the rest. The caller makes sure
     * that no other build's chain reads from it.
     */
    public void deleteBuild(BuildId build) {
        try {
            deleteIfExists(metadataKey(build));
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot delete build %s from %s", build, url());
        }
        removeIncomplete(build);
        log.info("deleted build {} from {}", build, url());
    }

    private boolean deleteIfExists(String key) throws IOException {
        if (!objects.exists(key)) {
            return false;
        }
        objects.delete(key);
        return true;
    }

    private boolean anyDataObject(BuildId build) throws IOException {
        for (Compression c : Compression.values()) {
            if (objects.exists(dataKey(build, c))) {
                return true;
            }
        }
        return false;
    }

    /** Deletes what a failed publication wrote, its data object first, then its header: then the build is gone. */
    private void removeWritten(BuildId build, List<String> written, IOException failure) {
        List<String> order = new ArrayList<>(written);
        for (Compression c : Compression.values()) {
            if (order.remove(dataKey(build, c))) {
                order.addFirst(dataKey(build, c));
            }
        }
        for (String key : order) {
            try {
                objects.delete(key);
            } catch (IOException cleanup) {
                failure.addSuppressed(cleanup);
                if (key.startsWith(rootfsKey(build)) && !key.equals(headerKey(build))) {
                    return; // keep the header: without it a leftover rootfs would read as a headerless build
                }
            }
        }
    }

    /** The size of the object stored at {@code key}, or 0 when there is none. */
    private long sizeOrZero(String key) throws IOException {
        try {
            return objects.size(key);
        } catch (NoSuchObjectException e) {
            return 0;
        }
    }

    public List<BuildSummary> list() {
        List<BuildSummary> builds = new ArrayList<>();
        try {
            for (String folder : objects.folders()) {
                BuildId build;
                try {
                    build = BuildId.of(folder);
                } catch (TmountException notABuild) {
                    continue;
                }
                boolean layered = objects.exists(headerKey(build));
                if (!layered && !objects.exists(rootfsKey(build))) {
                    continue;
                }
                long stored = 0;
                Compression compression = Compression.NONE;
                for (Compression c : Compression.values()) {
                    long size = sizeOrZero(dataKey(build, c));
                    if (size > 0) {
                        stored = size;
                        compression = c;
                        break;
                    }
                }
                Optional<BuildMetadata> metadata = metadata(build);
                builds.add(new BuildSummary(build,
                        metadata.map(BuildMetadata::templateId).orElse(null),
                        stored, compression, layered,
                        metadata.map(BuildMetadata::createdAt).orElse(null)));
            }
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot list template store %s", url());
        }
        return builds;
    }

    @Override
    public void close() throws IOException {
        objects.close();
    }
}
