package io.tmount.image;

import io.tmount.TmountException;
import io.tmount.header.BuildMapping;
import io.tmount.header.Header;
import io.tmount.header.HeaderCodec;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.ObjectInfo;
import io.tmount.store.TemplateStore;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * How a build's device is made of build objects: its header (for a headerless build, the one e2b assumes: version
 * 1, generation 1, the whole device on its own rootfs), and where each build the mappings name keeps its data. Read
 * and checked against the store in one go, so a bad header or a missing object is an error at mount time, not a
 * wrong byte later.
 */
public record BuildLayout(BuildId build, Header header, boolean headerless, Map<UUID, LayerData> layers) {

    public static final int BLOCK_SIZE = 4096;

    public BuildLayout {
        layers = Map.copyOf(layers);
    }

    /**
     * The mappings as the device is served: the header's, the last cut at the device size (e2b pads the last
     * mapping to a whole page).
     */
    public List<BuildMapping> mappings() {
        return clipped(header);
    }

    /** The store folder of a build the header names. */
    public BuildId folderOf(UUID uuid) {
        return layer(uuid).folder();
    }

    public LayerData layer(UUID uuid) {
        LayerData layer = layers.get(uuid);
        if (layer == null) {
            throw new IllegalArgumentException("build " + uuid + " is not in the layout of " + build);
        }
        return layer;
    }

    /** The store folder of every build the device reads from. */
    public Map<UUID, BuildId> folders() {
        Map<UUID, BuildId> folders = new HashMap<>();
        layers.forEach((uuid, layer) -> folders.put(uuid, layer.folder()));
        return folders;
    }

    /**
     * The header UUIDs of the builds of this chain, and of {@code newBuild} over it, whose ids are not UUIDs, with
     * their ids: what a new layer's metadata records so that its header's UUIDs lead back to their folders.
     */
    public Map<UUID, BuildId> aliasesWith(BuildId newBuild) {
        Map<UUID, BuildId> aliases = new HashMap<>();
        for (BuildId folder : folders().values()) {
            if (!folder.isUuid()) {
                aliases.put(folder.uuid(), folder);
            }
        }
        if (!newBuild.isUuid()) {
            aliases.put(newBuild.uuid(), newBuild);
        }
        return aliases;
    }

    /** Bytes each build contributes to the device, in the order builds first appear; nil UUID for zeros. */
    public Map<UUID, Long> contributions() {
        Map<UUID, Long> bytes = new LinkedHashMap<>();
        for (BuildMapping m : mappings()) {
            bytes.merge(m.buildId(), m.length(), Long::sum);
        }
        return bytes;
    }

    /** Reads and checks the layout of a build from the store. */
    /** The bytes of every layer's stored object (what reading the whole chain from the store reads). */
    public long storedBytes() {
        return layers.values().stream().mapToLong(layer -> layer.object().size()).sum();
    }

    public static BuildLayout read(TemplateStore store, BuildId build) {
        var headerBytes = store.headerBytes(build, HeaderCodec.MAX_HEADER_BYTES);
        if (headerBytes.isEmpty()) {
            return headerless(store, build);
        }
        String what = "the header of build " + build;
        Header header = HeaderCodec.read(headerBytes.get(), what);
        if (!header.buildId().equals(build.uuid())) {
            throw new TmountException(TmountException.Kind.FAILED, what + " names build " + header.buildId()
                    + ", not " + build.uuid());
        }
        Map<UUID, BuildId> aliases = new HashMap<>(store.metadata(build).map(BuildMetadata::buildAliases).orElse(Map.of()));
        aliases.put(build.uuid(), build);
        Map<UUID, List<long[]>> used = new LinkedHashMap<>();
        for (BuildMapping m : clipped(header)) {
            if (!m.zeros()) {
                used.computeIfAbsent(m.buildId(), k -> new ArrayList<>())
                        .add(new long[]{m.storageOffset(), m.storageOffset() + m.length()});
            }
        }
        LayerResolver resolver = new LayerResolver(store, header, build, what);
        Map<UUID, LayerData> layers = new HashMap<>();
        used.forEach((uuid, ranges) -> layers.put(uuid,
                resolver.resolve(uuid, aliases.getOrDefault(uuid, BuildId.of(uuid.toString())), ranges)));
        return new BuildLayout(build, header, false, layers);
    }

    private static BuildLayout headerless(TemplateStore store, BuildId build) {
        String key = TemplateStore.rootfsKey(build);
        ObjectInfo object = store.info(key).orElseThrow(() -> TmountException.notFound(
                "build '%s' not found in template store %s (no %s or %s)", build, store.url(),
                TemplateStore.headerKey(build), key));
        if (object.size() == 0) {
            throw new TmountException(TmountException.Kind.FAILED, "build " + build + " has an empty " + key);
        }
        long padded = (object.size() + BLOCK_SIZE - 1) / BLOCK_SIZE * BLOCK_SIZE;
        Header header = new Header(1, BLOCK_SIZE, object.size(), 1, build.uuid(), build.uuid(),
                List.of(new BuildMapping(0, padded, build.uuid(), 0)));
        LayerData self = new LayerData(build.uuid(), build, key, object, io.tmount.compress.Compression.NONE,
                io.tmount.compress.FrameTable.NONE, object.size(), null);
        return new BuildLayout(build, header, true, Map.of(build.uuid(), self));
    }

    private static List<BuildMapping> clipped(Header header) {
        List<BuildMapping> mappings = header.mappings();
        if (mappings.getLast().end() <= header.size()) {
            return mappings;
        }
        List<BuildMapping> out = new ArrayList<>(mappings.size());
        for (BuildMapping m : mappings) {
            if (m.offset() >= header.size()) {
                break;
            }
            out.add(m.end() <= header.size() ? m
                    : new BuildMapping(m.offset(), header.size() - m.offset(), m.buildId(), m.storageOffset()));
        }
        return out;
    }
}
