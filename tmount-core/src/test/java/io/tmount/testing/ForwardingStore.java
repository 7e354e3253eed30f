package io.tmount.testing;

import io.tmount.store.ObjectInfo;
import io.tmount.store.ObjectStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** An object store that passes every call to another: the base of the hand-written fakes that watch or break some. */
public abstract class ForwardingStore implements ObjectStore {

    protected final ObjectStore inner;

    protected ForwardingStore(ObjectStore inner) {
        this.inner = inner;
    }

    @Override
    public String url() {
        return inner.url();
    }

    @Override
    public boolean exists(String key) throws IOException {
        return inner.exists(key);
    }

    @Override
    public ObjectInfo info(String key) throws IOException {
        return inner.info(key);
    }

    @Override
    public int read(String key, long offset, ByteBuffer dst) throws IOException {
        return inner.read(key, offset, dst);
    }

    @Override
    public void download(String key, Path target) throws IOException {
        inner.download(key, target);
    }

    @Override
    public void upload(String key, Path source) throws IOException {
        inner.upload(key, source);
    }

    @Override
    public void put(String key, byte[] content) throws IOException {
        inner.put(key, content);
    }

    @Override
    public void create(String key, Path source) throws IOException {
        inner.create(key, source);
    }

    @Override
    public void create(String key, byte[] content) throws IOException {
        inner.create(key, content);
    }

    @Override
    public byte[] get(String key) throws IOException {
        return inner.get(key);
    }

    @Override
    public void delete(String key) throws IOException {
        inner.delete(key);
    }

    @Override
    public Optional<Path> localRoot() {
        return inner.localRoot();
    }

    @Override
    public List<String> keys(String folder) throws IOException {
        return inner.keys(folder);
    }

    @Override
    public List<String> folders(String folder) throws IOException {
        return inner.folders(folder);
    }

    @Override
    public List<String> folders() throws IOException {
        return inner.folders();
    }
}
