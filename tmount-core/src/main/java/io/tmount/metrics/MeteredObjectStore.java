package io.tmount.metrics;

import io.tmount.store.NoSuchObjectException;
import io.tmount.store.ObjectInfo;
import io.tmount.store.ObjectStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.IntConsumer;

/**
 * Counts and times every request to a template store, by operation (read is a ranged GET: a chunk fetch), bytes and
 * result. An absent object is an answer, not an error.
 */
public final class MeteredObjectStore implements ObjectStore {

    private final ObjectStore store;
    private final Metrics metrics;

    public MeteredObjectStore(ObjectStore store, Metrics metrics) {
        this.store = store;
        this.metrics = metrics;
    }

    private interface Call<T> {
        T run() throws IOException;
    }

    private <T> T timed(String op, Call<T> call, java.util.function.ToLongFunction<T> bytes) throws IOException {
        long start = System.nanoTime();
        boolean ok = false;
        T result = null;
        try {
            result = call.run();
            ok = true;
            return result;
        } catch (NoSuchObjectException absent) {
            ok = true;
            throw absent;
        } finally {
            metrics.storeRequest(op, ok, ok && result != null ? bytes.applyAsLong(result) : 0, System.nanoTime() - start);
        }
    }

    @Override
    public String url() {
        return store.url();
    }

    @Override
    public boolean exists(String key) throws IOException {
        return timed("head", () -> store.exists(key), r -> 0);
    }

    @Override
    public ObjectInfo info(String key) throws IOException {
        return timed("head", () -> store.info(key), r -> 0);
    }

    @Override
    public int read(String key, long offset, ByteBuffer dst) throws IOException {
        return timed("read", () -> store.read(key, offset, dst), n -> Math.max(0, n));
    }

    @Override
    public int read(String key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        return timed("read", () -> store.read(key, offset, dst, arrived), n -> Math.max(0, n));
    }

    @Override
    public void readFully(String key, long offset, ByteBuffer dst) throws IOException {
        readFully(key, offset, dst, position -> {
        });
    }

    @Override
    public void readFully(String key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        int length = dst.remaining();
        timed("read", () -> {
            store.readFully(key, offset, dst, arrived);
            return length;
        }, n -> n);
    }

    @Override
    public void download(String key, Path target) throws IOException {
        timed("download", () -> {
            store.download(key, target);
            return Files.size(target);
        }, n -> n);
    }

    @Override
    public void upload(String key, Path source) throws IOException {
        long size = Files.size(source);
        timed("upload", () -> {
            store.upload(key, source);
            return size;
        }, n -> n);
    }

    @Override
    public void put(String key, byte[] content) throws IOException {
        timed("put", () -> {
            store.put(key, content);
            return content.length;
        }, n -> n);
    }

    @Override
    public void create(String key, Path source) throws IOException {
        long size = Files.size(source);
        timed("upload", () -> {
            store.create(key, source);
            return size;
        }, n -> n);
    }

    @Override
    public void create(String key, byte[] content) throws IOException {
        timed("put", () -> {
            store.create(key, content);
            return content.length;
        }, n -> n);
    }

    @Override
    public byte[] get(String key) throws IOException {
        return timed("get", () -> store.get(key), b -> b.length);
    }

    @Override
    public void delete(String key) throws IOException {
        timed("delete", () -> {
            store.delete(key);
            return 0;
        }, n -> 0);
    }

    @Override
    public Optional<Path> localRoot() {
        return store.localRoot();
    }

    @Override
    public void removeUnfinishedWrites(String folder) throws IOException {
        store.removeUnfinishedWrites(folder);
    }

    @Override
    public List<String> keys(String folder) throws IOException {
        return timed("list", () -> store.keys(folder), f -> 0);
    }

    @Override
    public List<String> folders(String folder) throws IOException {
        return timed("list", () -> store.folders(folder), f -> 0);
    }

    @Override
    public List<String> folders() throws IOException {
        return timed("list", store::folders, f -> 0);
    }

    @Override
    public void close() throws IOException {
        store.close();
    }
}
