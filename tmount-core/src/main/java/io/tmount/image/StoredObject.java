package io.tmount.image;

import io.tmount.os.LinuxFiles;
import io.tmount.store.ObjectInfo;
import io.tmount.store.ObjectStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.IntConsumer;

/** A data object stored as it is (uncompressed): read with ranged reads. */
final class StoredObject implements ChunkSource {

    private final ObjectStore store;
    private final String key;
    private final ObjectInfo object;

    StoredObject(ObjectStore store, String key, ObjectInfo object) {
        this.store = store;
        this.key = key;
        this.object = object;
    }

    @Override
    public String name() {
        return key;
    }

    @Override
    public long size() {
        return object.size();
    }

    @Override
    public String identity() {
        return store.url() + " " + key + " " + object.version();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        store.readFully(key, offset, dst);
    }

    /** Bytes of an object stored as it is need no check here: each is final as it arrives. */
    @Override
    public void read(long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        store.readFully(key, offset, dst, arrived);
    }

    @Override
    public boolean reportsArrivals() {
        return true;
    }

    /** Where the store is a folder on this host, the holes of the sparse file; elsewhere all of it is data. */
    @Override
    public boolean extents(long offset, long length, Extents out) throws IOException {
        Optional<Path> root = store.localRoot();
        if (root.isEmpty()) {
            return out.add(length, 0);
        }
        int fd = LinuxFiles.openReadOnly(root.get().resolve(key));
        try {
            return SparseFiles.extents(fd, offset, length, out);
        } finally {
            LinuxFiles.close(fd);
        }
    }
}
