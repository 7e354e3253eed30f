package io.tmount.store;

import io.tmount.testing.ForwardingStore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * An object store in front of another that records every write and delete ("create KEY", "delete KEY") and fails
 * those matching {@code failing}: a hand-written fake for publication tests.
 */
final class RecordingStore extends ForwardingStore {

    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile Predicate<String> failing = call -> false;

    RecordingStore(ObjectStore inner) {
        super(inner);
    }

    private void record(String call) throws IOException {
        calls.add(call);
        if (failing.test(call)) {
            throw new IOException("injected failure of " + call);
        }
    }

    @Override
    public void upload(String key, Path source) throws IOException {
        record("upload " + key);
        super.upload(key, source);
    }

    @Override
    public void put(String key, byte[] content) throws IOException {
        record("put " + key);
        super.put(key, content);
    }

    @Override
    public void create(String key, Path source) throws IOException {
        record("create " + key);
        super.create(key, source);
    }

    @Override
    public void create(String key, byte[] content) throws IOException {
        record("create " + key);
        super.create(key, content);
    }

    @Override
    public void delete(String key) throws IOException {
        record("delete " + key);
        super.delete(key);
    }
}
