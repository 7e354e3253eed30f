package io.tmount.store;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.TmountException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Builds in a template store, in e2b's layout: {@code {buildId}/rootfs.ext4}, {@code {buildId}/rootfs.ext4.header}
 * (layered builds) and {@code {buildId}/metadata.json}.
 */
public final class TemplateStore implements AutoCloseable {

    public static final String ROOTFS = "rootfs.ext4";
    public static final String HEADER = "rootfs.ext4.header";
    public static final String METADATA = "metadata.json";

    private final ObjectStore objects;
    private final MetadataJson metadataJson;
    private final Set<BuildId> publishing = ConcurrentHashMap.newKeySet();

    public TemplateStore(ObjectStore objects) {
        this.objects = objects;
        this.metadataJson = new MetadataJson(new ObjectMapper());
    }

    public String url() {
        return objects.url();
    }

    public ObjectStore objects() {
        return objects;
    }

    public static String rootfsKey(BuildId build) {
        return build.value() + "/" + ROOTFS;
    }

    public static String headerKey(BuildId build) {
        return build.value() + "/" + HEADER;
    }

    public static String metadataKey(BuildId build) {
        return build.value() + "/" + METADATA;
    }

    public boolean exists(BuildId build) {
        try {
            return objects.exists(rootfsKey(build));
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot reach template store %s", url());
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
            throw TmountException.notFound("build '%s' of template '%s' not found in template store %s (no %s)",
                    build, template, url(), rootfsKey(build));
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

    /** The raw bytes of the build's header, or empty for a headerless build. */
    public Optional<byte[]> headerBytes(BuildId build) {
        String key = headerKey(build);
        try {
            return objects.exists(key) ? Optional.of(objects.get(key)) : Optional.empty();
        } catch (NoSuchObjectException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read %s in store %s", key, url());
        }
    }

    /**
     * Stores a new layered build: its header first, then its own blocks packed back to back, then its metadata (last,
     * so a build is listed only once it is whole). The order matters because a rootfs object is what makes a build
     * exist: a header without its rootfs reads as no build at all, while a rootfs without its header would read as a
     * whole headerless build made of packed blocks. Every object is created only if absent, so two writers of one id
     * (in this process or not) cannot overwrite each other. On failure what was written goes again, rootfs first.
     */
    public void publishLayer(BuildMetadata metadata, Path packedBlocks, byte[] header) {
        BuildId build = metadata.buildId();
        publishing(build, written -> {
            create(headerKey(build), header, written);
            createFrom(rootfsKey(build), packedBlocks, written);
            create(metadataKey(build), metadataJson.write(metadata), written);
        });
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
        if (!publishing.add(build)) {
            throw TmountException.conflict("build '%s' is being stored in template store %s right now", build, url());
        }
        List<String> written = new ArrayList<>();
        try {
            if (exists(build)) {
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

    /** Deletes what a failed publication wrote, its rootfs first: from then on the build does not exist. */
    private void removeWritten(BuildId build, List<String> written, IOException failure) {
        List<String> order = new ArrayList<>(written);
        if (order.remove(rootfsKey(build))) {
            order.addFirst(rootfsKey(build));
        }
        for (String key : order) {
            try {
                objects.delete(key);
            } catch (IOException cleanup) {
                failure.addSuppressed(cleanup);
                if (key.equals(rootfsKey(build))) {
                    return; // keep the header: without it a leftover rootfs would read as a headerless build
                }
            }
        }
    }

    /** The size of a build's rootfs object, or -1 when it is missing. */
    public long rootfsSizeOrMissing(BuildId build) {
        try {
            return objects.size(rootfsKey(build));
        } catch (NoSuchObjectException e) {
            return -1;
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read the size of %s", rootfsKey(build));
        }
    }

    public long rootfsSize(BuildId build) {
        return rootfsInfo(build).size();
    }

    public ObjectInfo rootfsInfo(BuildId build) {
        try {
            return objects.info(rootfsKey(build));
        } catch (IOException e) {
            throw TmountException.failed(e, "cannot read the size of %s", rootfsKey(build));
        }
    }

    public void downloadRootfs(BuildId build, Path target) throws IOException {
        objects.download(rootfsKey(build), target);
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
                if (!objects.exists(rootfsKey(build))) {
                    continue;
                }
                Optional<BuildMetadata> metadata = metadata(build);
                builds.add(new BuildSummary(build,
                        metadata.map(BuildMetadata::templateId).orElse(null),
                        objects.size(rootfsKey(build)),
                        objects.exists(headerKey(build)),
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
