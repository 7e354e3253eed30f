package io.tmount.image;

import io.tmount.TmountException;
import io.tmount.store.BuildId;
import io.tmount.store.BuildMetadata;
import io.tmount.store.TemplateStore;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * How a build's device is made of build objects: its header, or for a headerless build one mapping of the whole
 * device onto its own rootfs; and the store folder of every build the mappings name. Checked against the store
 * when it is read, so a bad header is an error at mount time, not a wrong byte later.
 */
public record BuildLayout(BuildId build, Header header, boolean headerless, Map<UUID, BuildId> folders) {

    public static final int BLOCK_SIZE = 4096;

    public BuildLayout {
        folders = Map.copyOf(folders);
    }

    public List<BuildMapping> mappings() {
        return header.mappings();
    }

    /** The store folder of a build the header names. */
    public BuildId folderOf(UUID uuid) {
        BuildId folder = folders.get(uuid);
        if (folder == null) {
            throw new IllegalArgumentException("build " + uuid + " is not in the layout of " + build);
        }
        return folder;
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
    public static BuildLayout read(TemplateStore store, BuildId build) {
        long ownSize = store.rootfsSizeOrMissing(build);
        if (ownSize < 0) {
            throw TmountException.notFound("build '%s' not found in template store %s (no %s)", build, store.url(),
                    TemplateStore.rootfsKey(build));
        }
        var headerBytes = store.headerBytes(build);
        if (headerBytes.isEmpty()) {
            Header header = new Header(Header.VERSION, BLOCK_SIZE, ownSize, 0, build.uuid(), build.uuid(),
                    List.of(new BuildMapping(0, ownSize, build.uuid(), 0)));
            return new BuildLayout(build, header, true, Map.of(build.uuid(), build));
        }
        String what = "the header of build " + build;
        Header header = HeaderCodec.read(headerBytes.get(), what);
        Map<UUID, BuildId> aliases = new HashMap<>(store.metadata(build).map(BuildMetadata::buildAliases).orElse(Map.of()));
        aliases.put(build.uuid(), build);
        if (!header.buildId().equals(build.uuid())) {
            throw new TmountException(TmountException.Kind.FAILED, what + " names build " + header.buildId()
                    + ", not " + build.uuid());
        }
        Map<UUID, BuildId> folders = new HashMap<>();
        Map<UUID, Long> needed = new HashMap<>();
        for (BuildMapping m : header.mappings()) {
            if (!m.zeros()) {
                needed.merge(m.buildId(), m.storageOffset() + m.length(), Math::max);
            }
        }
        for (var entry : needed.entrySet()) {
            UUID uuid = entry.getKey();
            BuildId folder = aliases.getOrDefault(uuid, BuildId.of(uuid.toString()));
            long size = store.rootfsSizeOrMissing(folder);
            if (size < 0) {
                throw new TmountException(TmountException.Kind.FAILED, what + " maps bytes to build " + folder
                        + ", whose " + TemplateStore.ROOTFS + " is missing from the store");
            }
            if (entry.getValue() > size) {
                throw new TmountException(TmountException.Kind.FAILED, what + " maps bytes up to offset "
                        + entry.getValue() + " of build " + folder + ", whose " + TemplateStore.ROOTFS + " has only "
                        + size + " bytes");
            }
            folders.put(uuid, folder);
        }
        return new BuildLayout(build, header, false, folders);
    }
}
